"""The TensorFlow SavedModel, written into the export folder's top level
and served by TensorFlow alone (no keras_lrelu)."""

import os

import numpy as np

from tuning.errors import UsageError
from tuning.export.served import served

# What a SavedModel puts in the folder it is written to.
PARTS = ("saved_model.pb", "fingerprint.pb", "variables", "assets")


def write(model, folder, calibration_images):
    """Fills `folder` (beside model.keras) with `model`'s SavedModel."""
    model.export(folder, format="tf_saved_model", verbose=False)


def load(path, threads=None):
    import tensorflow as tf

    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"{path} holds no SavedModel (no saved_model.pb)")
    loaded = tf.saved_model.load(path)  # kept alive by the closure
    (spec,), _ = loaded.serve.concrete_functions[0].structured_input_signature
    output = loaded.serve.concrete_functions[0].structured_outputs

    def run(batch):
        return loaded.serve(np.asarray(batch, "float32")).numpy()

    return served(run, spec.shape.as_list(), output.shape.as_list())
