"""model.keras: saved by the backend that trained it, loaded with keras_lrelu."""

import json
import os
import zipfile

import numpy as np

from tuning.export.served import served

FILE = "model.keras"


def save(model, path):
    """`model` saved as a .keras file at `path` that loads on every backend.

    On PyTorch, Keras records a compiled model's optimizer under the module
    of its PyTorch class (`keras.src.backend.torch.optimizers.torch_adam`),
    so loading the file on TensorFlow or JAX would import torch, and fail
    where torch is not installed. The file is rewritten to name the
    optimizer's public class (`keras.optimizers.Adam`), which each backend
    resolves to its own, as it does for a file saved on TensorFlow or JAX."""
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        if not _name_the_public_optimizer(config):
            return
        members = [(info, archive.read(info)) for info in archive.infolist()]
    rewritten = f"{path}.tmp"
    with zipfile.ZipFile(rewritten, "w") as archive:
        for info, data in members:
            archive.writestr(info, json.dumps(config) if info.filename == "config.json" else data)
    os.replace(rewritten, path)


def _name_the_public_optimizer(config):
    """Points a .keras config's optimizer at `keras.optimizers` where Keras
    named one backend's own class of it; returns whether it did."""
    import keras

    optimizer = (config.get("compile_config") or {}).get("optimizer")
    if not isinstance(optimizer, dict) or not str(optimizer.get("module")).startswith("keras.src.backend."):
        return False
    if not isinstance(getattr(keras.optimizers, str(optimizer.get("class_name")), None), type):
        return False
    optimizer["module"] = "keras.optimizers"
    return True


def load_model(path):
    """A .keras file as a Keras model, on this process's backend."""
    import keras

    import keras_lrelu  # noqa: F401  (registers the layers)

    return keras.models.load_model(path)  # safe_mode: no Lambda, no TFSMLayer


def load(path, threads=None):
    """The .keras file as a `Served`, predicting with Keras."""
    model = load_model(path)

    def run(batch):
        return model.predict(np.asarray(batch, "float32"), verbose=0)

    return served(run, model.input_shape, model.output_shape)
