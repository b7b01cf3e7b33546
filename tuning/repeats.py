"""Repeated runs of a configuration, and median pruning between them.

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

import keras
import numpy as np

from tuning import atomic
from tuning.pruning import prune_reason

RECORD_NAME = "repeats.json"
# Seeds of repeats lie this far apart; the model adds 0..2 per layer.
SEED_STRIDE = 1000
# Confirmation repeats (tuning/confirm.py) are numbered from here, past any
# --repeats, so no seed that chose a configuration confirms it.
CONFIRM_FIRST_REPEAT = 100
# Median pruning (as Optuna's MedianPruner) waits for
# PRUNE_STARTUP_CONFIGURATIONS finished configurations, so the median is of
# something, and never stops a repeat at the end of its first epoch, whose
# accuracy mostly says how fast a network starts, not where it ends.
PRUNE_WARMUP_EPOCHS = 1


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


def finished(record):
    """True once every planned repeat ended and none was pruned."""
    runs = record["repeats"].values()
    return (
        record["planned"] is not None
        and len(runs) == record["planned"]
        and not any(run["pruned"] for run in runs)
    )


def pruned(record):
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


def summary(record):
    """What the oracle records for the trial: the mean of each metric over
    its runs (a pruned run counts what it reached), the total `seconds`, and
    `pruned` (1 or 0)."""
    runs = ordered(record)
    names = set.intersection(*(set(run["metrics"]) for run in runs))
    means = {name: float(np.mean([run["metrics"][name] for run in runs])) for name in names}
    means["seconds"] = float(sum(run["metrics"]["seconds"] for run in runs))
    means["pruned"] = float(pruned(record))
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
        trial_id = os.path.basename(os.path.dirname(path))[len("trial_"):]
        if trial_id == exclude:
            continue
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue  # another process is replacing it this instant
        if finished(record) and all(str(j) in record["repeats"] for j in range(repeat + 1)):
            found.append([record["repeats"][str(j)]["curve"] for j in range(repeat + 1)])
    return found


def mean_at(curves, epoch):
    """The mean of the curves' values at `epoch` (1-based); None if one lacks it."""
    values = [curve.get(str(epoch)) for curve in curves]
    return None if None in values else float(np.mean(values))


class RepeatMonitor(keras.callbacks.Callback):
    """Records a repeat's validation accuracy per epoch and, with `prune`,
    stops it after epoch e when the configuration's mean accuracy at epoch e
    over its repeats so far (the `earlier` curves and this one) is below the
    median of the same mean, over the same repeats, of the finished
    configurations by more than `margin` (a fraction; see `prune_reason`).
    Repeat j shares its seed across configurations, so this compares like
    with like, and averaging the repeats that ran keeps one unlucky repeat
    from pruning a good configuration. Strictly below. At the
    last epoch of a repeat that is not the `last` one, pruning means running
    no further repeats; at the last epoch of the last repeat it never
    prunes, so a configuration that ran every repeat is finished."""

    def __init__(self, project_dir, trial_id, repeat, earlier=(), prune=False, last=True, margin=0.0):
        super().__init__()
        self.project_dir, self.trial_id, self.repeat = project_dir, trial_id, repeat
        self.earlier, self.prune, self.last, self.margin = list(earlier), prune, last, margin
        self.curve = {}
        self.pruned_message = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_accuracy")
        if value is None:
            return
        number = epoch + 1
        self.curve[str(number)] = float(value)
        at_end = number >= self.params["epochs"]
        if not self.prune or number <= PRUNE_WARMUP_EPOCHS or (at_end and self.last):
            return
        ours = mean_at([*self.earlier, self.curve], number)
        others = [mean_at(curves, number) for curves in finished_curves(self.project_dir, self.repeat, self.trial_id)]
        others = [value for value in others if value is not None]
        reason = None if ours is None else prune_reason(ours, others, self.margin)
        if reason:
            over = f"over repeats 1-{self.repeat + 1} " if self.repeat else ""
            where = f"after repeat {self.repeat + 1}" if at_end else f"in repeat {self.repeat + 1}, epoch {number}"
            self.pruned_message = f"pruned {where}: mean val_accuracy {over}{reason}"
            self.model.stop_training = True
