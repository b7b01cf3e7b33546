"""When `--repeats auto:K` or `--confirm auto:K` looks at the verdict after
every round, each look is another chance of a false decision, so the
verdict's level is split over the looks (a Bonferroni split, an
alpha-spending plan fixed before the first round): look n decides at level
a_n, with the a_n summing to the verdict's 5%, so the chance of any false
decision over all the looks stays at most 5% whichever look stops the run.

The exact sign-flip test of n pairs, one of T comparisons, decides nothing
below level 2T / 2^n, so a look is planned only where its share can
decide: from the first round that can, each look gets exactly that least
share while what is left still reaches the least share of the last round,
and the last round (the ceiling K) gets the rest. The plan depends on K and
T alone, never on the data.
"""

from fractions import Fraction

from tuning.verdict.stats import LEVEL


def least_level(pairs, tests):
    """The smallest level at which `pairs` pairs can decide one of `tests` comparisons."""
    return Fraction(2 * tests, 2**pairs)


def plan(ceiling, tests, level=LEVEL):
    """`{round: level}` for the looks at rounds 1..`ceiling` (exact
    fractions summing to `level`); empty if no round can decide."""
    level = Fraction(str(level))
    rounds = [n for n in range(1, ceiling + 1) if least_level(n, tests) <= level]
    if not rounds:
        return {}
    last, left, looks = rounds[-1], level, {}
    for n in rounds[:-1]:
        if left - least_level(n, tests) >= least_level(last, tests):
            looks[n] = least_level(n, tests)
            left -= looks[n]
    looks[last] = left
    return looks


def level_at(looks, pairs):
    """The level of the look after `pairs` rounds; 0 (decides nothing) off the plan."""
    return looks.get(pairs, Fraction(0))
