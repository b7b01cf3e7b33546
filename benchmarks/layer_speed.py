"""Forward + backward time of one rectifier layer, against Keras's own layers.

Usage: [KERAS_BACKEND=jax|torch] python benchmarks/layer_speed.py [--repeats 15] [--sizes 32x64x64x64,...]

On TensorFlow (below); on JAX a jitted vjp; on PyTorch eager autograd.
Rows name the backend; results go to layer_speed.csv (TensorFlow) or
layer_speed_BACKEND.csv.

Every layer runs on the same input with the same upstream gradient, timed
round-robin (so load drifts hit all alike), in graph mode (tf.function,
jit_compile=False: what model.fit runs on a CPU-only machine by default) and
under XLA (jit_compile=True: what it runs when TensorFlow sees a GPU), in one
process. Ratios are against keras.layers.LeakyReLU in the same mode, the
median of the per-round ratios. Each step returns the output as well as the
gradients, so the forward pass is timed too (a graph prunes outputs nothing
uses). GB/s counts the five tensor passes any rectifier's forward+backward
must make (read x, write y; read x and dy, write dx), against this machine's
memory-copy bandwidth.
"""

import argparse
import functools
import inspect
import sys

import keras
import numpy as np
from common import backend
from common import copy_bandwidth_gbs
from common import default_mode
from common import interleaved_samples
from common import iqr
from common import machine
from common import modes
from common import paired_ratio
from common import report
from common import results_name

import keras_lrelu


def contenders(rank):
    spatial = list(range(1, rank - 1))
    everything = list(range(1, rank))
    return {
        "keras LeakyReLU": lambda: keras.layers.LeakyReLU(0.2),
        "keras ReLU": lambda: keras.layers.ReLU(),
        "keras ELU": lambda: keras.layers.ELU(),
        "keras PReLU scalar": lambda: keras.layers.PReLU(
            keras.initializers.Constant(0.25), shared_axes=everything
        ),
        "keras PReLU channel": lambda: keras.layers.PReLU(
            keras.initializers.Constant(0.25), shared_axes=spatial or None
        ),
        "fixed": lambda: keras_lrelu.LeakyReLU(alpha=0.2),
        "trainable": lambda: keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True),
        "channelwise": lambda: keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, channelwise=True),
        "randomized": lambda: keras_lrelu.RandomizedLeakyReLU(seed=0),
    }


def step_fn(layer, jit_compile):
    """Forward + backward of `layer` (training=True) on (x, upstream),
    returning the output and the gradients of x and the layer's weights, in
    this backend's way of running a training step."""
    backend = keras.backend.backend()
    if backend == "jax":
        return _jax_step(layer)
    if backend == "torch":
        return _torch_step(layer)
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def step(x, upstream):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        # y is returned too: a graph drops what nothing uses, forward included.
        return y, tape.gradient(y, [x] + layer.trainable_weights, output_gradients=upstream)

    return step


def _jax_step(layer):
    import jax

    non_trainable = [v.value for v in layer.non_trainable_variables]
    # stateless_call hands keywords to call() as they are; Keras's own
    # activation layers take no `training`.
    kwargs = {"training": True} if "training" in inspect.signature(layer.call).parameters else {}

    def forward(x, trainable):
        y, _ = layer.stateless_call(trainable, non_trainable, x, **kwargs)
        return y

    @jax.jit
    def step(x, upstream, trainable):
        y, pullback = jax.vjp(forward, x, trainable)
        return y, pullback(upstream)

    return lambda x, upstream: jax.block_until_ready(
        step(x, upstream, [v.value for v in layer.trainable_variables])
    )


def _torch_step(layer):
    import torch

    def step(x, upstream):
        x = x.detach().requires_grad_(True)
        y = layer(x, training=True)
        weights = [v.value for v in layer.trainable_variables]
        return y, torch.autograd.grad(y, [x, *weights], upstream)

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sizes", default="32x64x64x64,128x28x28x32,256x1024")
    args = parser.parse_args(argv)
    bandwidth = copy_bandwidth_gbs()
    print(
        f"{machine()}; memory copy {bandwidth:.1f} GB/s; "
        f"Keras's default jit_compile='auto' runs {default_mode()} here\n"
    )
    rows = []
    for size in args.sizes.split(","):
        shape = tuple(int(n) for n in size.split("x"))
        rng = np.random.RandomState(0)
        x_array = rng.randn(*shape).astype("float32")
        x = keras.ops.convert_to_tensor(x_array)
        upstream = keras.ops.convert_to_tensor(rng.randn(*shape).astype("float32"))
        for mode, jit in modes().items():
            steps = {}
            for name, make in contenders(len(shape)).items():
                layer = make()
                layer.build(shape)
                steps[name] = functools.partial(step_fn(layer, jit), x, upstream)
                steps[name]()  # trace and compile outside the timing
            samples = interleaved_samples(steps, rounds=args.repeats)
            for name, times in samples.items():
                median = float(np.median(times))
                ratio = paired_ratio(times, samples["keras LeakyReLU"])
                rows.append(
                    {
                        "backend": backend(),
                        "shape": size,
                        "mode": mode,
                        "layer": name,
                        "median_ms": median,
                        "iqr_ms": iqr(times),
                        "vs_LeakyReLU": ratio,
                        "GB/s": 5 * x_array.nbytes / (median / 1e3) / 1e9,
                        "copy_GB/s": bandwidth,
                    }
                )
                print(f"{size:>14} {mode:5} {name:20} {median:8.2f} ms  x{ratio:.2f}", file=sys.stderr)
    columns = ["backend", "shape", "mode", "layer", "median_ms", "iqr_ms", "vs_LeakyReLU", "GB/s"]
    report(rows, results_name("layer_speed"), columns)


if __name__ == "__main__":
    main()
