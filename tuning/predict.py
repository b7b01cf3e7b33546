"""Serving an exported model: needs TensorFlow and the model card, not keras_lrelu."""

import json
import os

import numpy as np

from tuning.data import read_image
from tuning.data import to_array
from tuning.errors import UsageError

CARD_NAME = "model_card.json"


def load_card(model_dir):
    path = os.path.join(model_dir, CARD_NAME)
    if not os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        raise UsageError(f"{model_dir} holds no SavedModel (no saved_model.pb)")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the model card {path}: {error}") from None


def predict(model_dir, image_paths):
    """Classifies image files; returns `(file name, class name, probability)`
    per image. Each image is converted to the card's channels and size, and
    its 8-bit pixels to the dataset's pixel scale."""
    card = load_card(model_dir)
    height, width, channels = card["input_shape"]
    mode = "L" if channels == 1 else "RGB"
    scale = card["pixel_max"] / 255.0
    batch = np.stack(
        [to_array(read_image(path), (height, width), mode) * scale for path in image_paths]
    )
    import tensorflow as tf

    served = tf.saved_model.load(model_dir)
    probabilities = served.serve(batch.astype("float32")).numpy()
    best = probabilities.argmax(axis=1)
    return [
        (os.path.basename(path), card["class_names"][index], float(probabilities[row, index]))
        for row, (path, index) in enumerate(zip(image_paths, best))
    ]
