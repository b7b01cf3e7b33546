"""A dataset from a folder with one subfolder of images per class."""

import os

import numpy as np

from tuning.data.images import GRAYSCALE_MODES
from tuning.data.images import IMAGE_EXTENSIONS
from tuning.data.images import open_image
from tuning.data.images import to_array
from tuning.errors import UsageError

# float32 values a decoded folder may hold (4 GiB), checked before decoding.
MAX_DATASET_VALUES = 1 << 30


def read(path, image_size):
    """(x, y, None, None, class names): class k is the k-th subfolder by name."""
    classes = sorted(entry for entry in os.listdir(path) if os.path.isdir(os.path.join(path, entry)))
    files = {
        label: sorted(
            f for f in os.listdir(os.path.join(path, label)) if f.lower().endswith(IMAGE_EXTENSIONS)
        )
        for label in classes
    }
    classes = [label for label in classes if files[label]]
    if len(classes) < 2:
        raise UsageError(f"{path} must hold at least two class subfolders with images; found {len(classes)}")
    paths = [os.path.join(path, label, f) for label in classes for f in files[label]]
    labels = np.array([index for index, label in enumerate(classes) for _ in files[label]])
    inside = os.path.join(os.path.realpath(path), "")
    for image_path in paths:  # a symbolic link may not lead out of the folder given
        if not os.path.realpath(image_path).startswith(inside):
            raise UsageError(f"cannot read image {image_path}: it links outside {path}")
    # Headers first (no pixels decoded): grayscale only if every file is, one
    # colour image makes the set RGB; the first image's size unless one is given.
    modes, first_size = set(), None
    for image_path in paths:
        with open_image(image_path) as image:
            modes.add(image.mode)
            first_size = first_size or (image.height, image.width)
    mode = "L" if modes <= set(GRAYSCALE_MODES) else "RGB"
    size = tuple(image_size) if image_size else first_size
    shape = (len(paths), *size, 1 if mode == "L" else 3)
    if np.prod(shape, dtype=np.float64) > MAX_DATASET_VALUES:
        raise UsageError(
            f"{path}: {shape[0]} images of {shape[1]}x{shape[2]}x{shape[3]} decode to more than "
            f"{MAX_DATASET_VALUES:,} values (4 GiB); use a smaller --image-size or fewer images"
        )
    pixels = np.empty(shape, "float32")  # peak memory: this array plus one image
    for index, image_path in enumerate(paths):
        with open_image(image_path) as image:
            pixels[index] = to_array(image, size, mode, image_path)
    return pixels, labels, None, None, classes
