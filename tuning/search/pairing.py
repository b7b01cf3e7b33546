"""The settings that make repeat j of one trial comparable with repeat j of
another: recorded in the project (`pairing.json`) when a search starts, and
a resume that changes any of them refused, since its new trials would be
paired with old ones trained on other seeds, splits or data."""

import hashlib
import json
import os

from tuning import atomic
from tuning.errors import UsageError

FILE_NAME = "pairing.json"
# setting -> the option that sets it, in the order a refusal checks them.
OPTIONS = {
    "seed": "--seed",
    "dataset": "--dataset",
    "image_size": "--image-size",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "threads": "--threads",
    "prune": "--prune",
    "margin": "--margin",
    "repeats": "--repeats",
    "backend": "--backend",
    "model": "--model",
}


def from_settings(settings, dataset, hypermodel):
    """What a search's repeats pair by: its settings (tuning/settings.py),
    its dataset's content (a digest of every split), not only its name
    or path, and its network (`hypermodel.describe()`: a user's model by
    its digest and init). JAX has no threads setting, so none is recorded there."""
    digest = hashlib.sha256()
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        array = getattr(dataset, name)
        digest.update(f"{name}{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return {
        "seed": settings.seed,
        "dataset": {"name": dataset.name, "sha256": digest.hexdigest()},
        "image_size": list(settings.image_size) if settings.image_size else None,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "threads": None if settings.backend == "jax" else settings.intra_op_threads,
        "prune": settings.prune,
        "margin": settings.margin_points,
        "repeats": settings.repeats,
        "backend": settings.backend,
        "model": hypermodel.describe(),
    }


def check(project_dir, wanted):
    """UsageError naming the first setting in which `wanted` differs from
    the project's record, with both values; nothing if it has none."""
    recorded = _read(project_dir)
    if recorded is None:
        return
    for key, option in OPTIONS.items():
        if key in recorded and not _same(key, recorded[key], wanted[key]):
            ours, theirs = _shown(key, wanted[key]), _shown(key, recorded[key])
            if key == "dataset" and ours == theirs:
                ours += " (other images)"
            raise UsageError(
                f"cannot resume {project_dir} with {option} {ours}: it was searched with {option} {theirs}; "
                f"rerun with {option} {theirs}, or start afresh with --overwrite"
            )


def write_record(project_dir, wanted):
    """Writes the project's record if it has none (`check` has passed, or
    --overwrite has just cleared the project)."""
    if _read(project_dir) is None:
        atomic.write_json(os.path.join(project_dir, FILE_NAME), wanted)


def _read(project_dir):
    path = os.path.join(project_dir, FILE_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            recorded = json.load(f)
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot resume: {path} is corrupt ({error}); start afresh with --overwrite"
        ) from None
    if not isinstance(recorded, dict):
        raise UsageError(f"cannot resume: {path} holds no JSON object; start afresh with --overwrite")
    return recorded


def _same(key, recorded, wanted):
    """Whether a setting is unchanged; a dataset by its content alone, so
    `./data` and `data` are one dataset and other images under one name are not."""
    if key == "dataset":
        return isinstance(recorded, dict) and recorded.get("sha256") == wanted["sha256"]
    if key == "model":  # by content and init: a moved file is the same model
        return isinstance(recorded, dict) and _model_key(recorded) == _model_key(wanted)
    return recorded == wanted


def _model_key(described):
    return {key: described.get(key) for key in ("source", "sha256", "init")}


def _shown(key, value):
    if key == "dataset":
        return value.get("name", "?") if isinstance(value, dict) else repr(value)
    if key == "model":
        if not isinstance(value, dict):
            return repr(value)
        shown = value.get("file") or value.get("python") or value.get("source", "?")
        return f"{shown} (init {value['init']})" if "init" in value else shown
    if key == "image_size":
        return " ".join(map(str, value)) if value else "(none)"
    if key == "threads" and value is None:
        return "(none: JAX)"
    return str(value)
