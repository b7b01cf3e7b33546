"""The record of a configuration's repeated runs (`repeats.json`).

Repeat j of every configuration trains from the same seed (weights, data
order, RReLU draws), so configurations compare pairwise on the same K
starting points. Each finished repeat is written to its trial's folder
(`repeats.json`, atomically) as soon as it ends, so a killed search resumes
without losing it, and every process of a search (fresh processes, workers
on other hosts) reads the same records.
"""

import glob
import json
import os

import numpy as np

from tuning import atomic

RECORD_NAME = "repeats.json"
# Seeds of repeats lie this far apart; the model adds 0..2 per layer.
SEED_STRIDE = 1000
# Confirmation repeats (tuning/search/confirmation.py) are numbered from here, past any
# --repeats, so no seed that chose a configuration confirms it.
CONFIRM_FIRST_REPEAT = 100


def seed_for(seed, repeat):
    """The seed of repeat `repeat` (0-based): the same in every configuration."""
    return seed + SEED_STRIDE * repeat


def _trial_file(project_dir, trial_id, name):
    return os.path.join(project_dir, f"trial_{trial_id}", name)


def record_path(project_dir, trial_id):
    return _trial_file(project_dir, trial_id, RECORD_NAME)


def load(project_dir, trial_id):
    """The trial's record: {"planned": K, "repeats": {"0": {...}, ...}}, or
    an empty one if the trial has none yet."""
    path = record_path(project_dir, trial_id)
    if not os.path.exists(path):
        return {"planned": None, "repeats": {}}
    with open(path) as f:
        return json.load(f)


def save(project_dir, trial_id, record):
    atomic.write_json(record_path(project_dir, trial_id), record)


def weights_path(project_dir, trial_id, repeat):
    """Where a repeat keeps its best epoch's weights until the trial ends."""
    return _trial_file(project_dir, trial_id, f"repeat{repeat}.weights.h5")


def is_finished(record):
    """True once every planned repeat ended and none was pruned."""
    runs = record["repeats"].values()
    return (
        record["planned"] is not None
        and len(runs) == record["planned"]
        and not any(run["pruned"] for run in runs)
    )


def is_pruned(record):
    return any(run["pruned"] for run in record["repeats"].values())


def ordered(record):
    """The recorded repeats, in repeat order."""
    return [record["repeats"][key] for key in sorted(record["repeats"], key=int)]


def ordered_confirmation(record):
    """The recorded confirmation repeats, in order."""
    runs = record.get("confirm", {})
    return [runs[key] for key in sorted(runs, key=int)]


def best_repeat(record):
    """The repeat (0-based) whose best epoch had the highest val_accuracy;
    the first of equals; None before any repeat ended."""
    runs = record["repeats"]
    keys = sorted(runs, key=int)
    if not keys:
        return None
    return int(max(keys, key=lambda key: runs[key]["metrics"]["val_accuracy"]))


def means(record):
    """What the oracle records for the trial: the mean of each metric over
    its runs (a pruned run counts what it reached), the total `seconds`, and
    `pruned` (1 or 0)."""
    runs = ordered(record)
    names = set.intersection(*(set(run["metrics"]) for run in runs))
    means = {name: float(np.mean([run["metrics"][name] for run in runs])) for name in names}
    means["seconds"] = float(sum(run["metrics"]["seconds"] for run in runs))
    means["pruned"] = float(is_pruned(record))
    return means


def recorded_otherwise(project_dir, key, wanted):
    """A setting `key` of a project's existing records ("planned": its
    --repeats, "backend": the Keras backend that trained it), if any record
    differs from `wanted`: a resume must keep both, or repeat j of one
    configuration would not pair with repeat j of another."""
    for path in glob.glob(os.path.join(project_dir, "trial_*", RECORD_NAME)):
        with open(path) as f:
            recorded = json.load(f).get(key)
        if recorded is not None and recorded != wanted:
            return recorded
    return None


def finished_curves(project_dir, repeat, exclude):
    """For every finished configuration in the project but `exclude`, the
    validation-accuracy curves ({epoch: value}) of its repeats 0..`repeat`."""
    found = []
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", RECORD_NAME))):
        trial_id = os.path.basename(os.path.dirname(path))[len("trial_") :]
        if trial_id == exclude:
            continue
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue  # another process is replacing it this instant
        if is_finished(record) and all(str(j) in record["repeats"] for j in range(repeat + 1)):
            found.append([record["repeats"][str(j)]["curve"] for j in range(repeat + 1)])
    return found
