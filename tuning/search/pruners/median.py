"""`--prune median`: stop a configuration that trails the finished ones'
median by more than the margin, as Optuna's MedianPruner, on means over the
repeats so far. The verdict's calibration (tuning/search/calibration.py)
simulates searches with this very class."""

import numpy as np

from tuning.search.pruners.base import BasePruner
from tuning.search.pruners.base import check_count

# The median is of something only once this many configurations finished.
STARTUP_CONFIGURATIONS = 3
# The first epoch's accuracy mostly says how fast a network starts, not where it ends.
WARMUP_EPOCHS = 1


class MedianPruner(BasePruner):
    """Stops a configuration after epoch e when its mean accuracy at e over
    its repeats so far is below the median of the same mean, over the same
    repeats, of the finished configurations by more than `margin_fraction`,
    strictly. Repeat j shares its seed across configurations, so
    this compares like with like, and averaging the repeats that ran keeps
    one unlucky repeat, a validation image or two, from pruning a good
    configuration.

    Args:
        margin_fraction, repeats, validation_size: as for `BasePruner`.
        startup: how many finished configurations the median needs before
            it stops anything (Optuna's `n_startup_trials`), 0 or more.
        warmup_epochs: the epochs after which nothing stops yet (Optuna's
            `n_warmup_steps`), 0 or more.

    Raises:
        ValueError: an argument out of its range, naming it and the value
            received.
    """

    help = (
        "stop a configuration after an epoch where its mean val_accuracy over its repeats so far is "
        "below the median of the finished configurations' by more than --margin (from the 2nd epoch, "
        f"once {STARTUP_CONFIGURATIONS} finished)"
    )

    def __init__(
        self,
        margin_fraction=0.0,
        repeats=None,
        validation_size=None,
        startup=STARTUP_CONFIGURATIONS,
        warmup_epochs=WARMUP_EPOCHS,
    ):
        super().__init__(margin_fraction, repeats, validation_size)
        check_count("startup", startup)
        check_count("warmup_epochs", warmup_epochs)
        self.startup, self.warmup_epochs = startup, warmup_epochs

    def prune(self, curves, finished, epoch):
        if epoch <= self.warmup_epochs:
            return None
        ours = mean_at(curves, epoch)
        if ours is None:
            return None
        others = [mean_at(theirs, epoch) for theirs in finished()]
        others = [value for value in others if value is not None]
        if len(others) < self.startup:
            return None
        median = float(np.median(others))
        if ours < median - self.margin_fraction:
            by = (
                f" by more than the margin ({100 * self.margin_fraction:.3g} points)"
                if self.margin_fraction
                else ""
            )
            return f"{ours:.4f} below the median {median:.4f} of {len(others)} finished configurations{by}"
        return None


def mean_at(curves, epoch):
    """The mean of the curves' values at `epoch` (1-based); None if one lacks it."""
    values = [curve.get(str(epoch)) for curve in curves]
    return None if None in values else float(np.mean(values))
