"""A dataset from a .npz of arrays, checked member by member before NumPy
allocates any of them."""

import os
import zipfile

import numpy as np

from tuning.errors import UsageError

KEYS = ("x_train", "y_train", "x_test", "y_test", "class_names")
# Bytes in one uncompressed member (a member of zeros compresses ~1000:1).
MAX_NPZ_MEMBER_BYTES = 1 << 32


def read(path, image_size=None):
    """(x_train, y_train, x_test or None, y_test or None, class names or None)."""
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise UsageError(f"cannot read {path} as .npz: not a zip archive of arrays")
    try:
        with np.load(path, allow_pickle=False) as npz:
            present = [key for key in KEYS if key in npz.files]
            for key in present:
                _check_member(path, npz.zip, key)
            arrays = {key: npz[key] for key in present}
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(f"cannot read {path} as .npz: {error}") from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise UsageError(
            f"{path} has no {' or '.join(missing)} (it has: {', '.join(arrays) or 'none of ' + ', '.join(KEYS)})"
        )
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UsageError(f"{path} must have both x_test and y_test, or neither")
    names = arrays.get("class_names")
    return (
        arrays["x_train"],
        arrays["y_train"],
        arrays.get("x_test"),
        arrays.get("y_test"),
        None if names is None else [str(n) for n in np.ravel(names)],
    )


def _check_member(path, archive, key):
    """UsageError unless the .npz member `key` holds at most
    MAX_NPZ_MEMBER_BYTES and its header declares no more data than it holds
    (NumPy allocates the declared shape before reading)."""
    size = archive.getinfo(f"{key}.npy").file_size
    if size > MAX_NPZ_MEMBER_BYTES:
        raise UsageError(
            f"{path}: {key} is {size:,} bytes uncompressed; the limit is {MAX_NPZ_MEMBER_BYTES:,}"
        )
    with archive.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)
        header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = header(member, max_header_size=10_000)
    if dtype.hasobject:
        raise UsageError(f"{path}: {key} holds Python objects (pickled data), which are never loaded")
    if np.prod(shape, dtype=np.float64) * dtype.itemsize > size:
        raise UsageError(
            f"{path}: {key} declares shape {shape} of {dtype}, more than its {size:,} bytes hold"
        )
