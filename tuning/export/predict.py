"""Serving an exported model: needs the file's runtime and the model card, not keras_lrelu.

A model file is a program: its graph runs with this process's rights.
`predict` loads only a file whose sha256 matches its card (which catches a
swapped or damaged file, not a card rewritten to match), so run models you
exported yourself or got from someone you trust.
"""

import os

import numpy as np

from tuning.data.images import open_image
from tuning.data.images import to_array
from tuning.errors import UsageError
from tuning.export import cards
from tuning.export import formats

# Images decoded and classified at a time: memory holds one batch, however many images.
BATCH_SIZE = 256


def predict(model_path, image_paths, batch_size=BATCH_SIZE):
    """Classifies image files with an export folder's SavedModel, or with
    a .tflite, .onnx or .keras file inside one; yields `(file name, class
    name, probability)` per image, `batch_size` images at a time. Each image
    is converted to the card's channels and size, and its 8-bit pixels to
    the dataset's pixel scale.

    Before anything is loaded: the card is checked, the model's files are
    checked against the card's sha256, and every image path must be a
    readable image file; after loading, the model's shapes must match the
    card's.
    """
    if not os.path.exists(model_path):
        raise UsageError(f"no such file or folder: {model_path}")
    card = cards.read(model_path)
    cards.verify_files(model_path, card, formats.files_read(model_path))
    for path in image_paths:  # headers only: a typo fails before the model loads
        open_image(path).close()
    served = formats.load(model_path)
    cards.check_model(card, served, model_path)
    height, width, channels = card["input_shape"]
    mode = "L" if channels == 1 else "RGB"
    scale = card["pixel_max"] / 255.0
    for start in range(0, len(image_paths), batch_size):
        paths = image_paths[start : start + batch_size]
        batch = np.empty((len(paths), height, width, channels), "float32")
        for row, path in enumerate(paths):
            with open_image(path) as image:
                batch[row] = to_array(image, (height, width), mode, path) * scale
        probabilities = served(batch)
        for row, path in enumerate(paths):
            best = int(probabilities[row].argmax())
            yield os.path.basename(path), card["class_names"][best], float(probabilities[row, best])


def printable(text):
    """`text` with every character a terminal would act on escaped, so a
    label or file name cannot move the cursor, recolour or split a line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
