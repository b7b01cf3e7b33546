"""The median pruner's decision, apart from the Keras callback that applies
it (tuning/repeats.py), so that the verdict's calibration (tuning/
calibration.py) simulates the very rule the search prunes by."""

import numpy as np

from tuning.names import PRUNE_STARTUP_CONFIGURATIONS


def prune_reason(ours, others, margin):
    """Why a configuration whose mean accuracy so far is `ours` stops, given
    the same mean of the finished configurations (`others`), or None: only
    below their median by more than `margin` (a fraction), so that one
    repeat's luck, a validation image or two, never prunes."""
    if len(others) < PRUNE_STARTUP_CONFIGURATIONS:
        return None
    median = float(np.median(others))
    if ours < median - margin:
        by = f" by more than the margin ({100 * margin:.3g} points)" if margin else ""
        return f"{ours:.4f} below the median {median:.4f} of {len(others)} finished configurations{by}"
    return None
