"""Datasets as arrays: raw pixels, class names, input shape and seeded splits.

A dataset source is a module here with a `read(name, image_size)` that
returns (x_train, y_train, x_test or None, y_test or None, class names or
None), and an entry in the registry tuning/data/sources.py, which picks the
source by the name given to --dataset and says its pixel scale.
"""

import dataclasses

import numpy as np

from tuning.errors import UsageError

# The name of a dataset given as arrays in Python (tuning.api.search's data=).
ARRAYS_NAME = "arrays"


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
    """Loads a dataset by name, `.npz` path or image folder, split and
    seeded; or arrays (tuning.api): `(x, y)` or `(x_train, y_train, x_val, y_val)`.

    A dataset without a test set has `test_fraction` held out; the
    validation set is `val_fraction` of what remains for training, unless
    given. All splits are stratified by class.

    Raises:
        UsageError: for an unknown name, an unreadable file or folder, or
            data that cannot make a classification task.
    """
    from tuning.data import sources

    x_val = y_val = None
    scale = None  # arrays given in Python: their own
    if isinstance(name, (tuple, list)):
        x_train, y_train, x_val, y_val, x_test, y_test, class_names = _arrays(name)
        name = ARRAYS_NAME
    else:
        source = sources.source_for(name)
        x_train, y_train, x_test, y_test, class_names = source.read(name, image_size)
        scale = source.scale(name)
    x_train, y_train = _as_images(x_train, "x_train"), _as_labels(y_train, x_train, "y_train")
    if x_test is None:
        x_train, x_test, y_train, y_test = _split(x_train, y_train, test_fraction, seed)
    else:
        x_test, y_test = _checked_split(name, x_test, y_test, "x_test", x_train)
    if x_val is None:
        x_train, x_val, y_train, y_val = _split(x_train, y_train, val_fraction, seed)
    else:
        x_val, y_val = _checked_split(name, x_val, y_val, "x_val", x_train)
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
    # The source's declared scale (8-bit images: 255, however bright the brightest one seen),
    # else the data's own.
    pixel_max = float(scale) if scale is not None else float(max(x_train.max(), 1.0))
    return Dataset(name, list(class_names), x_train, y_train, x_val, y_val, x_test, y_test, pixel_max)


def _arrays(given):
    """(x_train, y_train, x_val, y_val, x_test, y_test, class names) of arrays given in Python."""
    if len(given) == 2:
        return (*given, None, None, None, None, None)
    if len(given) == 4:
        return (*given, None, None, None)
    raise UsageError(
        f"data= as arrays is (x, y) or (x_train, y_train, x_val, y_val); got {len(given)} arrays"
    )


def _checked_split(name, x, y, key, x_train):
    """A split given apart from x_train, checked as images of x_train's shape."""
    x, y = _as_images(x, key), _as_labels(y, x, key.replace("x_", "y_"))
    if x.shape[1:] != x_train.shape[1:]:
        raise UsageError(f"{name}: {key} images are {x.shape[1:]}, x_train images {x_train.shape[1:]}")
    return x, y


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
    from sklearn.model_selection import train_test_split  # here: the registry's imports stay light

    try:
        x_keep, x_out, y_keep, y_out = train_test_split(
            x, y, test_size=fraction, random_state=seed, stratify=y
        )
    except ValueError as error:
        raise UsageError(f"cannot split {len(y)} images into stratified sets: {error}") from None
    return x_keep, x_out, y_keep, y_out
