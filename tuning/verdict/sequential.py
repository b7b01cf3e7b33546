"""When `--repeats auto:K` or `--confirm auto:K` looks at the verdict after
rounds, each look is another chance of a false decision, so the verdict's
level is split over the looks (a Bonferroni split, an alpha-spending plan
fixed before the first round): look n decides at level a_n, with the a_n
summing to the verdict's 5%, so the chance of any false decision over all
the looks stays at most 5% whichever look stops the run.

The exact sign-flip test of n pairs, one of T comparisons, decides nothing
below level 2T / N(n) (N: the sign patterns it ranks, 2^n up to 20 pairs),
so a look is planned only where its share can decide. The plan has at most
one early look: the first round whose least share leaves the ceiling K at
least LAST_LOOK_SHARE of the level, at exactly that least share; the
ceiling gets the rest. Spending the level on more early looks, or on an
earlier one that leaves the ceiling little, stops sooner when the runs are
quiet but leaves the last look too little to decide when they are not
(benchmarks/verdict_calibration.py's plan table). The plan depends on K
and T alone, never on the data.
"""

from fractions import Fraction

from tuning.verdict.stats import LEVEL
from tuning.verdict.stats import resolution

LAST_LOOK_SHARE = Fraction(1, 2)


def least_level(pairs, tests):
    """The smallest level at which `pairs` pairs can decide one of `tests` comparisons."""
    return Fraction(2 * tests, resolution(pairs))


def plan(ceiling, tests, level=LEVEL):
    """`{round: level}` for the looks at rounds 1..`ceiling` (exact
    fractions summing to `level`); empty if no round can decide."""
    level = Fraction(str(level))
    rounds = [n for n in range(1, ceiling + 1) if least_level(n, tests) <= level]
    if not rounds:
        return {}
    last, looks = rounds[-1], {}
    keep = max(LAST_LOOK_SHARE * level, least_level(last, tests))
    early = next((n for n in rounds[:-1] if level - least_level(n, tests) >= keep), None)
    if early is not None:
        looks[early] = least_level(early, tests)
    looks[last] = level - sum(looks.values(), Fraction(0))
    return looks


def level_at(looks, pairs):
    """The level of the look after `pairs` rounds; 0 (decides nothing) off the plan."""
    return looks.get(pairs, Fraction(0))


def next_look(looks, pairs):
    """The first planned look after `pairs` rounds, or None."""
    return min((n for n in looks if n > pairs), default=None)
