"""The rows a verdict reads from a results table: the configurations that
finished their repeats (best mean first), the ones confirmation retrains,
the comparisons Bonferroni counts, a row's accuracies as whole validation
images, and the checks that a table is one a search wrote. Reads a pandas
frame only (no TensorFlow, no Keras)."""

import math

import numpy as np

from tuning.errors import UsageError
from tuning.verdict.terms import BASELINE_MODE
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import SIZE_COLUMN
from tuning.verdict.terms import repeat_columns


def label(row):
    """`trial 07 (learned α per channel from 0.01)` for a results row."""
    alpha = f"{row['alpha']:.3g}"
    kind = {
        "relu": "ReLU",
        "fixed": f"fixed α = {alpha}",
        "trainable": f"learned α (one) from {alpha}",
        "channelwise": f"learned α per channel from {alpha}",
        "randomized": f"randomized α, mean {alpha}",
    }.get(row["mode"], f"{row['mode']} α = {alpha}")
    return f"trial {row['trial_id']} ({kind})"


def finished(frame, k):
    """The configurations that ran all `k` repeats to their end, best mean first."""
    columns = repeat_columns(k)
    if not set(columns) <= set(frame.columns):
        return frame.iloc[0:0]
    done = frame[(frame["status"] == "COMPLETED") & frame[columns].notna().all(axis=1)]
    means = done[columns].astype(float).mean(axis=1).to_numpy()
    return done.iloc[np.argsort(-means, kind="stable")]  # ties keep the table's order


def to_confirm(frame, k):
    """The trial ids that confirmation retrains: the CONFIRMED_LEAKY best
    finished leaky configurations by mean over their repeats, then ReLU's."""
    done = finished(frame, k)
    leaky = done[done["mode"] != BASELINE_MODE]["trial_id"].tolist()[:CONFIRMED_LEAKY]
    return leaky + done[done["mode"] == BASELINE_MODE]["trial_id"].tolist()[:1]


def search_family(frame):
    """How many comparisons against ReLU Bonferroni counts on the search's
    repeats: every leaky configuration that entered the verdict's field,
    finished or pruned (a race drops, or the median prunes, on the same
    repeats, so leaving the dropped ones out of the count would let the
    data choose the family)."""
    entered = frame["status"].isin(["COMPLETED", "PRUNED"]) & (frame["mode"] != BASELINE_MODE)
    return int(entered.sum())


def check_unique(frame):
    """UsageError if a trial id is in two rows."""
    repeated = frame["trial_id"][frame["trial_id"].duplicated()].tolist()
    if repeated:
        count = int((frame["trial_id"] == repeated[0]).sum())
        raise UsageError(
            f"trial {repeated[0]} is in {count} rows of the results table; a search writes one row per trial"
        )


def validation_size(frame):
    """The one validation size of a frame's rows, or UsageError."""
    if SIZE_COLUMN not in frame.columns or frame[SIZE_COLUMN].isna().any():
        raise UsageError(
            f"the results table has no {SIZE_COLUMN} for every finished trial; it was written "
            "before the verdict counted whole images: rerunning the search command fills it in"
        )
    sizes = set(frame[SIZE_COLUMN].astype(int))
    if len(sizes) != 1 or min(sizes) < 1:
        raise UsageError(
            f"the results table's {SIZE_COLUMN} must be one positive number, got {sorted(sizes)}"
        )
    return sizes.pop()


def images(row, columns, size):
    """A row's accuracies in `columns` as whole numbers of correct images."""
    values = np.asarray([row[c] for c in columns], dtype=float) * size
    counts = np.round(values)
    if (
        not np.isfinite(values).all()
        or (np.abs(values - counts) > 0.01).any()
        or (counts < 0).any()
        or (counts > size).any()
    ):
        raise UsageError(
            f"trial {row['trial_id']}: {', '.join(columns)} are not whole numbers of the "
            f"{size} validation images"
        )
    return counts.astype(np.int64)


def records(frame):
    """The rows as dicts of Python values, as pandas' to_dict("records")
    gives them, without its value-by-value boxing: the calibration's
    simulations decide tens of thousands of tables."""
    return [dict(zip(frame.columns, values)) for values in frame.to_numpy(dtype=object).tolist()]


def present(value):
    """Whether a cell holds a value (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))
