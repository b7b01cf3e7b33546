"""The formats TensorFlow writes (SavedModel, LiteRT float and int8, ONNX),
made from an export folder's model.keras on the TensorFlow backend, and
every file of the folder measured in its own runtime.

A search on TensorFlow does this in its own process, from the model it just
saved. A search on JAX or PyTorch saves model.keras with the backend that
trained it, then runs this module as `python -m tuning.export.on_tensorflow` in a
process of its own on TensorFlow (a process runs one Keras backend), so
`--export-formats` means the same on every backend and the card's figures
are measured the same way.
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from tuning import relaunch
from tuning.errors import SearchStopped
from tuning.export import files
from tuning.export import formats
from tuning.export import keras_file
from tuning.quiet import native_stderr_silenced


def write(folder, names, dataset, model):
    """Writes the formats `names` into `folder` (which holds model.keras,
    saved from `model`) and returns `{file: {"test_accuracy", "bytes"}}`
    for every file, model.keras first. Runs here on TensorFlow, else in a
    TensorFlow process.

    Raises:
        SearchStopped: that process failed (its last line says why).
    """
    import keras

    calibration = dataset.x_train[: formats.CALIBRATION_IMAGES]
    if keras.backend.backend() == "tensorflow":
        return convert_and_measure(folder, names, calibration, dataset.x_test, dataset.y_test, model)
    with tempfile.TemporaryDirectory() as scratch:
        arrays, report = os.path.join(scratch, "arrays.npz"), os.path.join(scratch, "formats.json")
        np.savez(arrays, calibration=calibration, x_test=dataset.x_test, y_test=dataset.y_test)
        done = subprocess.run(
            relaunch.command(folder, arrays, ",".join(names), report, module="tuning.export.on_tensorflow"),
            env=relaunch.environment(dict(os.environ, KERAS_BACKEND="tensorflow")),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise SearchStopped(
                f"writing {','.join(names)} from model.keras on TensorFlow failed: {lines[-1]}"
            )
        with open(report) as f:
            return json.load(f)


def convert_and_measure(folder, names, calibration, x_test, y_test, model=None):
    """On the TensorFlow backend: the formats `names` of `model` (default:
    the folder's model.keras, loaded) written into `folder`, then each file
    loaded in its runtime and scored on the test images."""
    with native_stderr_silenced(), warnings.catch_warnings():
        # Keras's tf2onnx shim probes np.object, which NumPy 2 warns about.
        warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)
        if model is None:
            model = keras_file.load_model(os.path.join(folder, formats.KERAS_FILE))
        written = formats.write_converted(model, folder, names, calibration)
        measured = {}
        for name in written:
            run = formats.load(os.path.join(folder, "" if name == "saved_model" else name))
            measured[name] = {
                "test_accuracy": formats.accuracy(run, x_test, y_test),
                "bytes": files.size_bytes(folder, name),
            }
    return measured


def main(argv):
    """`FOLDER ARRAYS.npz FORMATS REPORT.json`: run by `write` on TensorFlow."""
    folder, arrays, names, report = argv
    os.environ["KERAS_BACKEND"] = "tensorflow"
    with np.load(arrays, allow_pickle=False) as data:
        calibration, x_test, y_test = data["calibration"], data["x_test"], data["y_test"]
    measured = convert_and_measure(folder, names.split(","), calibration, x_test, y_test)
    with open(report, "w") as f:
        json.dump(measured, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
