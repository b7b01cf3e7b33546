"""`--prune race`: configurations race round by round over the seeds, as
F-Race and irace race candidates over instances, and one leaves the race
once it is worse than the leader beyond noise.

Round j trains repeat j of every configuration still racing (the race's
loop is tuning/search/race.py), so after each round every configuration has
the same seeds, and a configuration's difference from the leader is paired
seed by seed (common random numbers). From MIN_REPEATS rounds on, it leaves
when a one-sided paired t-test says its mean val_accuracy (each repeat's
best epoch, as the verdict counts it) is below the leader's, at level
ALPHA / L, where L is the number of rounds at which it could be dropped:
a Bonferroni split over the planned rounds, so the chance that a
configuration no worse than the leader is ever dropped, over all the rounds,
stays at most ALPHA (tests/search/test_race.py simulates it). ReLU is the
verdict's reference and is never asked.
"""

import numpy as np

from tuning.search.pruners.base import BasePruner

ALPHA = 0.05
# A t-test of two paired differences has one degree of freedom and no power.
MIN_REPEATS = 3


class RacePruner(BasePruner):
    """`prune(curves, rivals, epoch)`: `rivals()` gives, for every other
    configuration in the race, its curves of the same repeats; `rounds` is
    the most rounds the race runs (--repeats)."""

    def prune(self, curves, finished, epoch):
        if len(curves) < MIN_REPEATS or self.rounds is None or self.rounds < MIN_REPEATS:
            return None
        ours = best_values(curves, epoch)
        field = [best_values(theirs, epoch) for theirs in finished()]
        field = [values for values in field if len(values) == len(ours)]
        if not field:
            return None
        leader = max(field, key=np.mean)
        if np.mean(leader) <= np.mean(ours):
            return None
        level = ALPHA / ((self.rounds - MIN_REPEATS + 1) * len(field))
        p = one_sided_p(np.asarray(ours) - np.asarray(leader))
        if p < level:
            return (
                f"{np.mean(ours):.4f} below the leader's {np.mean(leader):.4f} over the same "
                f"{len(ours)} seeds (paired t-test, p = {p:.2g} < {level:.2g}, Bonferroni over the rounds and rivals)"
            )
        return None


def best_values(curves, epoch):
    """Each curve's best value up to `epoch`, as the verdict counts a repeat."""
    return [max(v for e, v in curve.items() if int(e) <= epoch) for curve in curves if curve]


def one_sided_p(differences):
    """p of the paired t-test of "mean difference >= 0" against "< 0"."""
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    spread = float(d.std(ddof=1))
    if spread == 0:
        return 0.0 if d.mean() < 0 else 1.0
    t = float(d.mean()) / (spread / np.sqrt(len(d)))
    return float(stats.t.cdf(t, len(d) - 1))
