"""The dying-ReLU experiment of Lu et al. 2019 ("Dying ReLU and Initialization").

Deep, narrow fully-connected networks learn a 1-D regression, y = |x| on
[-sqrt(3), sqrt(3)]. A network has collapsed when it outputs one constant
for every input: with ReLU, once a whole layer is dead no gradient reaches
the layers below and it stays so. All `runs` networks of one activation and
width train together as one model, each with its own weights (EinsumDense
with a run axis), so a hundred runs cost about what one does.
"""

import math
import os

import keras
import numpy as np
import pandas as pd
from keras import ops

import keras_lrelu
from keras_lrelu import _compat as compat
from tuning import atomic

# Relative to the target's spread: an output this flat is a constant.
FLAT = 1e-4


def build(depth, width, runs, slope, seed):
    """`runs` independent networks of `depth` hidden layers of `width`
    units, He-initialised, as one model: (N, 1) inputs -> (N, runs) outputs.
    The initial weights depend on `seed`, the shape and nothing else, so
    every slope starts from the same networks."""
    keras.utils.set_random_seed(seed)

    def kernel(layer, stddev):
        return keras.initializers.RandomNormal(stddev=stddev, seed=seed * (depth + 1) + layer)

    inputs = keras.Input((1,))
    h = keras.layers.RepeatVector(runs)(inputs)  # (N, runs, 1)
    fan_in = 1
    for layer in range(depth):
        h = keras.layers.EinsumDense(
            "nri,rio->nro",
            output_shape=(runs, width),
            bias_axes="ro",
            kernel_initializer=kernel(layer, math.sqrt(2 / fan_in)),
        )(h)
        h = keras.layers.ReLU()(h) if slope == 0 else keras_lrelu.LeakyReLU(alpha=slope)(h)
        fan_in = width
    outputs = keras.layers.EinsumDense(
        "nri,rio->nro",
        output_shape=(runs, 1),
        bias_axes="ro",
        kernel_initializer=kernel(depth, math.sqrt(1 / width)),
    )(h)
    model = keras.Model(inputs, keras.layers.Reshape((runs,))(outputs))
    model.compile(keras.optimizers.Adam(1e-3), loss=_sum_of_run_losses)
    return model


def _sum_of_run_losses(y_true, y_pred):
    # Each run's mean squared error, summed: runs share no weights, so each
    # gets exactly the gradient it would get alone.
    return ops.sum(ops.mean(ops.square(y_pred - y_true), axis=0))


def outputs(model, x):
    """`model(x)` as an array: called directly, since `predict` would trace
    a new function per model and TensorFlow warns about the retracing."""
    return ops.convert_to_numpy(model(x, training=False))


def collapsed(model, x, target_std):
    """Per run: does it output (nearly) one constant for every input?"""
    return _flat(outputs(model, x), target_std)


def _flat(values, target_std):
    return values.std(axis=0) < FLAT * target_std


class _SameBatch(keras.utils.PyDataset):
    """The one full batch `(x, y)`, `steps` times, on any backend."""

    def __init__(self, x, y, steps):
        super().__init__()
        self.batch, self.steps = (x, y), steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.batch


def one_setting(depth, width, slope, runs, steps, seed, points=256):
    x = np.linspace(-math.sqrt(3), math.sqrt(3), points, dtype="float32")[:, None]
    y = np.abs(x)
    model = build(depth, width, runs, slope, seed)
    at_init = collapsed(model, x, y.std())
    # One epoch of `steps` full batches: per-epoch overhead would dominate. No shuffling to
    # do, and Keras warns when asked to shuffle a PyDataset.
    targets = np.repeat(y, runs, axis=1)
    compat.build_metrics(model, x, targets)
    model.fit(_SameBatch(x, targets, steps), epochs=1, verbose=0, shuffle=False)
    trained = outputs(model, x)  # once, for both measures
    after = _flat(trained, y.std())
    errors = ((trained - y) ** 2).mean(axis=0)
    return {
        "activation": "ReLU" if slope == 0 else f"Leaky ReLU {slope:g}",
        "backend": keras.backend.backend(),
        "slope": slope,
        "width": width,
        "depth": depth,
        "runs": runs,
        "steps": steps,
        "collapsed_at_init": float(at_init.mean()),
        "collapsed_after_training": float(after.mean()),
        "median_mse": float(np.median(errors)),
        "median_mse_not_collapsed": float(np.median(errors[~after])) if (~after).any() else float("nan"),
    }


def width_seed(seed, width):
    """The seed of the networks of one width: `seed + width`, from the width
    itself, so `--width 3` alone gives the rows of width 3 in any list."""
    return seed + width


def run(depth, widths, slopes, runs, steps, seed, out, command):
    """Every slope at every width; writes dying.csv and dying.md into `out`.
    Paired: at one width, every slope trains the same `runs` initial
    networks (`width_seed`)."""
    os.makedirs(out, exist_ok=True)
    rows = [
        one_setting(depth, width, slope, runs, steps, width_seed(seed, width))
        for width in widths
        for slope in slopes
    ]
    frame = pd.DataFrame(rows)
    frame["command"] = command
    atomic.write_csv(frame, os.path.join(out, "dying.csv"))
    table = markdown_report(frame, command)
    atomic.write_text(os.path.join(out, "dying.md"), table)
    return frame, table


def markdown_report(frame, command):
    first = frame.iloc[0]
    lines = [
        "# Collapse of deep narrow networks (Lu et al. 2019)",
        "",
        f"`{command}`",
        "",
        f"{int(first['runs'])} networks per row, depth {int(first['depth'])}, y = |x| on "
        f"[-√3, √3], {int(first['steps'])} full-batch Adam steps, on Keras's {first['backend']} "
        "backend. Collapsed: the output "
        f"varies by less than {FLAT:g} of the target's spread over all inputs. Paired: at "
        "each width every activation starts from the same initial networks.",
        "",
        "| width | activation | collapsed at init | collapsed after training | median MSE |",
        "|---|---|---|---|---|",
    ]
    for row in frame.itertuples():
        lines.append(
            f"| {row.width} | {row.activation} | {100 * row.collapsed_at_init:.0f}% "
            f"| {100 * row.collapsed_after_training:.0f}% | {row.median_mse:.4f} |"
        )
    return "\n".join(lines + [""])
