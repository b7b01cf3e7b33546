"""Image files opened and decoded safely: regular files only, four decoders,
a pixel cap read from the header before any pixel is decoded."""

import os
import stat

import numpy as np

from tuning.errors import UsageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# The decoders Pillow may use, whatever a file's name says (it would
# otherwise try every format it knows, EPS through Ghostscript among them).
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
GRAYSCALE_MODES = ("1", "L", "LA", "F") + SIXTEEN_BIT_MODES
MAX_IMAGE_PIXELS = 4096 * 4096  # checked from the header, before decoding


def open_image(path):
    """An image file opened to its header (pixels are decoded later, by
    `to_array`), or UsageError naming it: only regular files, only
    IMAGE_FORMATS, at most MAX_IMAGE_PIXELS."""
    from PIL import Image

    try:
        kind = os.stat(path).st_mode
    except OSError as error:
        raise UsageError(f"cannot read image {path}: {error.strerror}") from None
    if not stat.S_ISREG(kind):
        raise UsageError(f"cannot read image {path}: not a regular file")
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Exception as error:
        raise UsageError(f"cannot read image {path}: {error}") from None
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise UsageError(
            f"image {path} is {image.width}x{image.height} pixels; the limit is {MAX_IMAGE_PIXELS:,} per image"
        )
    return image


def to_array(image, size, mode, path):
    """A PIL image decoded as float32 (H, W, C) pixels of the given size and
    mode, 16-bit images scaled to 8 bits; UsageError naming `path` if the
    file's pixels cannot be decoded."""
    from PIL import Image

    height, width = size
    try:
        image.load()
        if image.mode in SIXTEEN_BIT_MODES:
            scaled = np.clip(np.asarray(image, dtype="float32"), 0, 65535) / 257.0
            image = Image.fromarray(np.round(scaled).astype("uint8"), "L")
        image = image.convert(mode).resize((width, height), Image.BILINEAR)
    except Exception as error:
        raise UsageError(f"cannot read image {path}: {error}") from None
    array = np.asarray(image, dtype="float32")
    return array[..., None] if array.ndim == 2 else array
