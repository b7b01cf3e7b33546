"""Serving an exported tuning model: SavedModel against the in-memory Keras model.

Usage: python benchmarks/serving.py [--mode channelwise] [--repeats 200]

Builds the tuning suite's CNN for 28x28x1 digits (untrained: speed does not
depend on the weights), exports it with model.export, loads it with
tf.saved_model.load in the same process, and times batch-1 latency and
batch-256 throughput of `serve` against `model.predict_on_batch` and a
direct `model(x)` call.
"""

import argparse
import sys
import tempfile

import keras_tuner as kt
import numpy as np
import tensorflow as tf
from common import machine
from common import report
from common import time_call

from tuning.search.hypermodel import LeakyCNN


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="channelwise")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    print(machine() + "\n")
    hp = kt.HyperParameters()
    hp.Fixed("mode", args.mode)
    model = LeakyCNN((28, 28, 1), 10).build(hp)
    folder = tempfile.mkdtemp()
    model.export(folder, verbose=False)
    served = tf.saved_model.load(folder)
    rows = []
    for batch_size, repeats in ((1, args.repeats), (256, max(10, args.repeats // 10))):
        x = np.random.RandomState(0).rand(batch_size, 28, 28, 1).astype("float32") * 255
        np.testing.assert_allclose(served.serve(x), model(x), rtol=1e-4, atol=1e-6)
        for name, call in (
            ("SavedModel serve", lambda x=x: served.serve(x)),
            ("keras predict_on_batch", lambda x=x: model.predict_on_batch(x)),
            ("keras model(x)", lambda x=x: model(x)),
        ):
            median, spread = time_call(call, repeats=repeats, warmup=5)
            rows.append(
                {
                    "batch": batch_size,
                    "path": name,
                    "median_ms": median,
                    "iqr_ms": spread,
                    "images_per_s": batch_size / (median / 1e3),
                }
            )
            print(f"batch {batch_size:3} {name:24} {median:8.3f} ms", file=sys.stderr)
    report(rows, "serving", ["batch", "path", "median_ms", "iqr_ms", "images_per_s"])


if __name__ == "__main__":
    main()
