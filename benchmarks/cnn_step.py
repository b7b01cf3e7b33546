"""Training-step time and peak memory of a small CNN, per rectifier.

Usage: [KERAS_BACKEND=jax|torch] python benchmarks/cnn_step.py [--steps 150] [--batch-size 128]
       [--modes graph,xla]

The CNN takes 28x28x1 images. Every rectifier is measured in every mode
`model.fit` runs in on the Keras backend (common.MODES): on TensorFlow both
graph mode (`jit_compile=False`, what Keras 3.15's default
`jit_compile="auto"` picks on a CPU-only machine) and XLA (`jit_compile=True`,
what it picks when TensorFlow sees a GPU); on JAX compiled; on PyTorch
eager. The script prints which one this machine's default is. Rows name the
backend; results go to cnn_step.csv (TensorFlow) or cnn_step_BACKEND.csv. Step times are measured
side by side in this process, round-robin; `vs_LeakyReLU` is the median of
the per-round ratios to Keras's LeakyReLU (paired, so a slow spell of the
machine cancels out). Peak memory is the peak resident set of a fresh process
per rectifier and mode that builds the model and runs ten steps at a larger
batch (TensorFlow does not track CPU allocations itself), the median of
`--memory-runs` such processes; it includes the runtime and the XLA compiler,
alike for every row.
"""

import argparse
import os
import subprocess
import sys

import keras
import numpy as np
from common import backend
from common import default_mode
from common import interleaved_samples
from common import iqr
from common import machine
from common import modes
from common import paired_ratio
from common import report
from common import results_name

import keras_lrelu

RECTIFIERS = {
    "keras LeakyReLU": lambda: keras.layers.LeakyReLU(0.2),
    "keras ReLU": lambda: keras.layers.ReLU(),
    "keras PReLU channel": lambda: keras.layers.PReLU(keras.initializers.Constant(0.25), shared_axes=[1, 2]),
    "fixed": lambda: keras_lrelu.LeakyReLU(alpha=0.2),
    "trainable": lambda: keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True),
    "channelwise": lambda: keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, channelwise=True),
    "randomized": lambda: keras_lrelu.RandomizedLeakyReLU(seed=0),
}


def build(rectifier, jit_compile):
    make = RECTIFIERS[rectifier]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = make()(keras.layers.Conv2D(32, 3, padding="same")(inputs))
    x = make()(keras.layers.Conv2D(32, 3, padding="same")(x))
    x = keras.layers.MaxPooling2D()(x)
    x = make()(keras.layers.Conv2D(64, 3, padding="same")(x))
    x = keras.layers.MaxPooling2D()(x)
    if rectifier == "keras PReLU channel":
        dense_act = keras.layers.PReLU(keras.initializers.Constant(0.25))
    else:
        dense_act = make()
    x = dense_act(keras.layers.Dense(128)(keras.layers.Flatten()(x)))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def batch(batch_size):
    rng = np.random.RandomState(0)
    return rng.rand(batch_size, 28, 28, 1).astype("float32"), rng.randint(0, 10, batch_size)


def train_step(rectifier, batch_size, jit_compile):
    """A warmed-up (compiled) training step of the CNN, as a callable."""
    model = build(rectifier, jit_compile)
    x, y = batch(batch_size)
    for _ in range(5):
        model.train_on_batch(x, y)
    return lambda: model.train_on_batch(x, y)


def peak_memory_mb(rectifier, steps, batch_size, jit_compile):
    """Runs the steps in a fresh process; returns its peak RSS in MB."""
    code = (
        f"import sys, resource; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
        "import cnn_step; "
        f"step = cnn_step.train_step({rectifier!r}, {batch_size}, {jit_compile}); "
        f"[step() for _ in range({steps})]; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--memory-batch-size",
        type=int,
        default=1024,
        help="batch for the peak-memory runs: large enough that activations, not the runtime, set the peak",
    )
    parser.add_argument(
        "--modes",
        default=",".join(modes()),
        help=f"of this backend's {', '.join(modes())} (see common.MODES)",
    )
    parser.add_argument(
        "--memory-modes",
        default=",".join(modes()),
        help="modes whose peak memory is measured (a fresh process per rectifier)",
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=3,
        help="fresh processes per rectifier and mode; the median peak is kept",
    )
    parser.add_argument(
        "--rectifiers",
        default=",".join(RECTIFIERS),
        help="a comma list; the baselines keras LeakyReLU and PReLU are always run",
    )
    args = parser.parse_args(argv)
    chosen = ["keras LeakyReLU", "keras PReLU channel"] + args.rectifiers.split(",")
    names = [name for name in RECTIFIERS if name in chosen]
    print(f"{machine()}; Keras's default jit_compile='auto' runs {default_mode()} here\n")
    rows = []
    for mode in args.modes.split(","):
        jit_compile = modes()[mode]
        steps = {name: train_step(name, args.batch_size, jit_compile) for name in names}
        samples = interleaved_samples(steps, rounds=max(1, args.steps // 5))
        peaks = dict.fromkeys(names, float("nan"))
        if mode in args.memory_modes.split(","):
            peaks = {
                name: round(
                    float(
                        np.median(
                            [
                                peak_memory_mb(name, 10, args.memory_batch_size, jit_compile)
                                for _ in range(args.memory_runs)
                            ]
                        )
                    )
                )
                for name in names
            }
        for name, times in samples.items():
            rows.append(
                {
                    "backend": backend(),
                    "mode": mode,
                    "rectifier": name,
                    "step_ms": float(np.median(times)),
                    "iqr_ms": iqr(times),
                    "vs_LeakyReLU": paired_ratio(times, samples["keras LeakyReLU"]),
                    "peak_MB": peaks[name],
                    "peak_vs_PReLU": peaks[name] / peaks["keras PReLU channel"],
                }
            )
    columns = [
        "backend",
        "mode",
        "rectifier",
        "step_ms",
        "iqr_ms",
        "vs_LeakyReLU",
        "peak_MB",
        "peak_vs_PReLU",
    ]
    report(rows, results_name("cnn_step"), columns)


if __name__ == "__main__":
    main()
