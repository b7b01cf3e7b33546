"""Serving an exported model: needs the file's runtime and the model card, not keras_lrelu."""

import json
import os

import numpy as np

from tuning import formats
from tuning.data import read_image
from tuning.data import to_array
from tuning.errors import UsageError

CARD_NAME = "model_card.json"


def load_card(model_path):
    """The card of an export folder, or of the folder holding a model file."""
    folder = model_path if os.path.isdir(model_path) else os.path.dirname(model_path) or "."
    path = os.path.join(folder, CARD_NAME)
    if not os.path.isfile(path):
        raise UsageError(f"no model card beside {model_path} (looked for {path})")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the model card {path}: {error}") from None


def predict(model_path, image_paths):
    """Classifies image files with an export folder's SavedModel, or with
    a .tflite, .onnx or .keras file inside one; returns `(file name, class
    name, probability)` per image. Each image is converted to the card's
    channels and size, and its 8-bit pixels to the dataset's pixel scale."""
    if not os.path.exists(model_path):
        raise UsageError(f"no such file or folder: {model_path}")
    run = formats.load(model_path)
    card = load_card(model_path)
    height, width, channels = card["input_shape"]
    mode = "L" if channels == 1 else "RGB"
    scale = card["pixel_max"] / 255.0
    batch = np.stack(
        [to_array(read_image(path), (height, width), mode) * scale for path in image_paths]
    )
    probabilities = run(batch.astype("float32"))
    best = probabilities.argmax(axis=1)
    return [
        (os.path.basename(path), card["class_names"][index], float(probabilities[row, index]))
        for row, (path, index) in enumerate(zip(image_paths, best))
    ]
