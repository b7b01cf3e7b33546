"""Inference latency of exported models: LiteRT and ONNX Runtime, per rectifier.

Usage: python benchmarks/deploy.py [--repeats 15] [--size 56]

The same small CNN (SIZExSIZEx32 input, three 1x1 convolutions of 32
channels each followed by the rectifier, global average pooling, Dense(10))
is built with each rectifier, exported with `model.export(format="litert")`
and `format="onnx"`, and run at batch 1 with one thread in the LiteRT
interpreter and in ONNX Runtime, round-robin in one process. Each
keras_lrelu form is compared with the Keras built-in it replaces: fixed and
randomized with `keras.layers.LeakyReLU`, learned slopes with
`keras.layers.PReLU` over the same axes. ONNX is timed twice: as Keras
writes it (`model.export(format="onnx")`: a learned slope is five nodes)
and as `keras_lrelu.onnx.export_onnx` writes it (one PRelu node), each
against the Keras built-in as Keras exports it.
"""

import argparse
import functools
import os
import sys
import tempfile

import keras
import numpy as np
from common import interleaved_ms
from common import machine
from common import report

import keras_lrelu
from keras_lrelu.onnx import export_onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from tuning.export import formats  # noqa: E402  (the loaders the export uses)

RECTIFIERS = {
    "keras LeakyReLU": (lambda: keras.layers.LeakyReLU(0.2), None),
    "keras PReLU scalar": (lambda: keras.layers.PReLU(shared_axes=[1, 2, 3]), None),
    "keras PReLU channel": (lambda: keras.layers.PReLU(shared_axes=[1, 2]), None),
    "fixed": (lambda: keras_lrelu.LeakyReLU(0.2), "keras LeakyReLU"),
    "trainable": (lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True), "keras PReLU scalar"),
    "channelwise": (
        lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True),
        "keras PReLU channel",
    ),
    "randomized": (lambda: keras_lrelu.RandomizedLeakyReLU(seed=0), "keras LeakyReLU"),
}

RUNTIMES = (("LiteRT", ".tflite"), ("ONNX Runtime", ".onnx"), ("ONNX Runtime, export_onnx", ".fused.onnx"))
# The built-in each runtime's rows compare with: as Keras exports it.
BASELINE = {"ONNX Runtime, export_onnx": "ONNX Runtime"}


def build(rectifier, size):
    make, _ = RECTIFIERS[rectifier]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 32))
    x = inputs
    for _ in range(3):
        x = make()(keras.layers.Conv2D(32, 1)(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--size", type=int, default=56)
    args = parser.parse_args(argv)
    print(f"{machine()}; batch 1, one thread\n")
    x = np.random.RandomState(0).randn(1, args.size, args.size, 32).astype("float32")
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        for rectifier in RECTIFIERS:
            model = build(rectifier, args.size)
            model(x)  # the ONNX exporter needs a model called once
            stem = os.path.join(folder, rectifier.replace(" ", "_"))
            model.export(stem + ".tflite", format="litert", verbose=False)
            model.export(stem + ".onnx", format="onnx", verbose=False)
            export_onnx(model, stem + ".fused.onnx", verbose=False)
            for runtime, suffix in RUNTIMES:
                run = formats.load(stem + suffix, threads=1)
                np.testing.assert_allclose(run(x), model.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
                runs[(runtime, rectifier)] = functools.partial(run, x)
        timings = interleaved_ms(runs, rounds=args.repeats)
    rows = []
    for (runtime, rectifier), (median, spread) in timings.items():
        builtin = RECTIFIERS[rectifier][1]
        rows.append(
            {
                "runtime": runtime,
                "rectifier": rectifier,
                "median_ms": median,
                "iqr_ms": spread,
                "replaces": builtin or "",
                "vs_builtin": median / timings[(BASELINE.get(runtime, runtime), builtin)][0]
                if builtin
                else float("nan"),
            }
        )
    report(rows, "deploy", ["runtime", "rectifier", "median_ms", "iqr_ms", "replaces", "vs_builtin"])


if __name__ == "__main__":
    main()
