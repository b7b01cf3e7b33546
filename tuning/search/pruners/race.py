"""`--prune race`: configurations race round by round over the seeds, as
F-Race and irace race candidates over instances, and one leaves the race
once it is worse than the leader beyond noise.

Round j trains repeat j of every configuration still racing (the race's
loop is tuning/search/race.py), so after each round the racing
configurations form a table of configurations by seeds, and a
configuration's difference from the leader is paired seed by seed (common
random numbers). From MIN_REPEATS rounds on, a configuration leaves when
the leader's mean val_accuracy (each repeat's best epoch, as the verdict
counts it) exceeds its own by more than Tukey's honest significant
difference: the studentized range of the racing configurations' means, on
the run-to-run variance pooled over the whole table (the two-way layout's
residual, (m - 1)(n - 1) degrees of freedom, where one pair's three
differences would give two), at level ALPHA / L, L the rounds at which it
could drop. Tukey's range covers every pair of the racing configurations at
once, and the split covers the rounds, so the chance that a race ever
drops a configuration as good as the one it trails stays at most ALPHA,
per race, not per configuration (tests/search/test_race.py simulates it).

Accuracies are whole validation images: nearly noise-free runs differ by
0 or 1 image, and a pooled variance of such ties would make one image look
like a finding. The variance is therefore never taken below the rounding's
own, 1/12 of an image squared per run (ROUNDING_VARIANCE_IMAGES). ReLU is
the verdict's reference and is never asked (pruners.may_prune).
"""

import functools

import numpy as np

from tuning.search.pruners.base import BasePruner

ALPHA = 0.05
# Two rounds give the pooled variance too few degrees of freedom for a range test to drop anything.
MIN_REPEATS = 3
ROUNDING_VARIANCE_IMAGES = 1 / 12


class RacePruner(BasePruner):
    """Drops a racing configuration that trails the leader beyond Tukey's
    range (see the module's text). In `prune(curves, finished, epoch)`,
    `finished()` gives the curves of the same repeats of every other
    configuration still racing.

    Args:
        margin_fraction: as for `BasePruner` (the race does not use it: it
            drops on evidence of any difference).
        repeats: the most rounds the race runs (`--repeats`); with fewer
            than MIN_REPEATS, or None, nothing is dropped.
        validation_size: the images each accuracy counts, for the floor
            under the variance; None leaves it out.

    Raises:
        ValueError: as for `BasePruner`.
    """

    help = (
        "train in rounds (repeat j of every configuration still racing before repeat j+1 of any) and "
        "drop one that is worse than the leader beyond noise (docs/search.md)"
    )

    def prune(self, curves, finished, epoch):
        if len(curves) < MIN_REPEATS or self.repeats is None or self.repeats < MIN_REPEATS:
            return None
        ours = best_values(curves, epoch)
        field = [best_values(theirs, epoch) for theirs in finished()]
        table = np.array([ours, *(values for values in field if len(values) == len(ours))], dtype=float)
        if len(table) < 2:
            return None
        means = table.mean(axis=1)
        leader, gap = float(means[1:].max()), float(means[1:].max() - means[0])
        level = ALPHA / (self.repeats - MIN_REPEATS + 1)
        cut = honest_difference(table, level, self.validation_size)
        if gap > cut:
            return (
                f"{means[0]:.4f} below the leader's {leader:.4f} over the same {len(ours)} seeds by more "
                f"than {cut:.4f} (Tukey's range over the {len(table)} racing at {level:.2g}, the race's 5% "
                "split over its rounds)"
            )
        return None


def honest_difference(table, level, validation_size=None):
    """Tukey's honest significant difference at `level` between two row
    means of `table` (configurations by seeds): the studentized range's
    quantile times the pooled residual standard error of a row mean."""
    configurations, seeds = table.shape
    residual = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + table.mean()
    freedom = (configurations - 1) * (seeds - 1)
    variance = float((residual**2).sum()) / freedom
    if validation_size:
        variance = max(variance, ROUNDING_VARIANCE_IMAGES / validation_size**2)
    return _range_quantile(configurations, freedom, level) * np.sqrt(variance / seeds)


@functools.lru_cache(maxsize=1024)
def _range_quantile(configurations, freedom, level):
    from scipy.stats import studentized_range

    return float(studentized_range.ppf(1 - level, configurations, freedom))


def best_values(curves, epoch):
    """Each curve's best value up to `epoch`, as the verdict counts a repeat."""
    return [max(v for e, v in curve.items() if int(e) <= epoch) for curve in curves if curve]
