"""The model card beside every export: read and checked before any model
file it describes is loaded, and tied to those files by their sha256.

A card is input like any other: it may be broken, or written by someone
else. Every field `predict` relies on is checked for type and range; the
model files' digests are compared before a runtime opens them; after
loading, the card must agree with the model's own input and output shapes.
"""

import json
import math
import os
import re

from tuning.errors import UsageError
from tuning.export import files
from tuning.limits import IMAGE_SIDE_MAX
from tuning.names import CARD_NAME

MAX_CARD_BYTES = 4 << 20  # a card with 100,000 class names is ~2 MB
MAX_CLASSES = 100_000
SHA256 = re.compile(r"[0-9a-f]{64}")


def folder_of(model_path):
    """The export folder of a SavedModel folder or of a model file in one."""
    return model_path if os.path.isdir(model_path) else os.path.dirname(model_path) or "."


def read(model_path):
    """The checked card of the export holding `model_path`, or UsageError
    naming the card and the first field that is wrong."""
    path = os.path.join(folder_of(model_path), CARD_NAME)
    if not os.path.isfile(path):
        raise UsageError(f"no model card beside {model_path} (looked for {path})")
    if os.path.getsize(path) > MAX_CARD_BYTES:
        raise UsageError(f"the model card {path} is over {MAX_CARD_BYTES >> 20} MB; refusing to read it")
    try:
        with open(path, encoding="utf-8") as f:
            card = json.load(f, parse_constant=_no_constant)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the model card {path}: {error}") from None
    if not isinstance(card, dict):
        raise UsageError(f"the model card {path} holds no JSON object")
    for key, valid, wanted in _FIELDS:
        if not valid(card.get(key)):
            got = _short(card[key]) if key in card else "none"
            raise UsageError(f"the model card {path}: {key} must be {wanted}, got {got}")
    return card


def verify_files(model_path, card, names):
    """UsageError unless each of `names` (every file loading `model_path`
    reads, relative to its export folder: tuning.export.formats.files_read)
    has the sha256 the card lists for it."""
    folder = folder_of(model_path)
    for name in names:
        if not os.path.isfile(os.path.join(folder, name)):  # a FIFO would hang the hash
            raise UsageError(f"{os.path.join(folder, name)} is not a regular file; not loading it")
        listed = card["sha256"].get(name)
        if listed is None:
            raise UsageError(
                f"the model card lists no sha256 for {name}; re-export, or use the export as it was written"
            )
        if files.sha256(os.path.join(folder, name)) != listed:
            raise UsageError(
                f"{os.path.join(folder, name)} does not match the sha256 in its model card: "
                "the file was changed or swapped after export; not loading it"
            )


def check_model(card, served, model_path):
    """UsageError unless the loaded model takes the card's input shape and
    gives one probability per class name."""
    declared = tuple(card["input_shape"])
    if (
        any(mine is not None and mine != theirs for mine, theirs in zip(served.input_shape, declared))
        or len(served.input_shape) != 3
    ):
        raise UsageError(
            f"{model_path} takes images of shape {served.input_shape}, its card says {list(declared)}"
        )
    if served.classes is not None and served.classes != len(card["class_names"]):
        raise UsageError(
            f"{model_path} gives {served.classes} class probabilities, "
            f"its card names {len(card['class_names'])} classes"
        )


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_FIELDS = [
    (
        "class_names",
        lambda v: (
            isinstance(v, list)
            and 0 < len(v) <= MAX_CLASSES
            and all(isinstance(n, str) and len(n) <= 200 for n in v)
        ),
        f"a list of 1 to {MAX_CLASSES} names of at most 200 characters",
    ),
    (
        "input_shape",
        lambda v: (
            isinstance(v, list)
            and len(v) == 3
            and _is_int(v[0], 1, IMAGE_SIDE_MAX)
            and _is_int(v[1], 1, IMAGE_SIDE_MAX)
            and v[2] in (1, 3)
            and not isinstance(v[2], bool)
        ),
        f"[height, width, channels] with sides 1 to {IMAGE_SIDE_MAX} and 1 or 3 channels",
    ),
    (
        "pixel_max",
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0,
        "a positive finite number",
    ),
    (
        "sha256",
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(k, str) and isinstance(d, str) and SHA256.fullmatch(d) for k, d in v.items())
        ),
        "a mapping of file names to sha256 hex digests",
    ),
]


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
