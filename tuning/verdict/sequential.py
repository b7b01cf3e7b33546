"""When `--repeats auto:K` or `--confirm auto:K` looks at the verdict after
rounds, each look is another chance of a false decision, so each of the
verdict's two error budgets (5% for a false "better or worse", 5% for a
false "equivalent": tuning/verdict/stats.py's sign_flip) is split over its
looks (a Bonferroni split, an alpha-spending plan fixed before the first
round): look n spends a_n of a claim's budget, the a_n summing to 5%, so
the chance of that false claim at any look stays at most 5% whichever look
stops the run.

The exact sign-flip test of n pairs, one of T comparisons, cannot call a
difference better or worse below level 2T / N(n), nor equivalent below
T / N(n) (N: the sign patterns it ranks, 2^n up to 20 pairs), so a look is
planned only where its share can decide. Each claim's plan has at most one
early look: the first round whose least share leaves the ceiling K at least
LAST_LOOK_SHARE of the budget, at exactly that least share; the ceiling gets
the rest. With one comparison that is equivalence after round 5 and better
or worse after round 6. A third for the ceiling is what the calibration
simulation chose (benchmarks/verdict_calibration.py's plan rows): keeping
half stops a round later on quiet runs, keeping less (more early looks)
leaves the ceiling too little to decide noisy ones. The plan depends on K
and T alone, never on the data.
"""

import functools
from fractions import Fraction

from tuning.verdict.stats import LEVEL
from tuning.verdict.stats import resolution

CLAIMS = ("difference", "equivalence")
LAST_LOOK_SHARE = Fraction(1, 3)


def least_level(pairs, tests, claim="difference"):
    """The smallest level at which `pairs` pairs can make `claim` about one of `tests` comparisons."""
    return Fraction(2 * tests if claim == "difference" else tests, resolution(pairs))


def plan(ceiling, tests, level=LEVEL):
    """`{claim: {round: level}}` for the looks at rounds 1..`ceiling`, each
    claim's levels exact fractions summing to `level` (empty if no round
    can decide that claim)."""
    return {claim: dict(_spend(ceiling, tests, claim, str(level))) for claim in CLAIMS}


@functools.lru_cache(maxsize=1024)  # the simulations ask for the same few plans at every look
def _spend(ceiling, tests, claim, level):
    level = Fraction(level)
    rounds = [n for n in range(1, ceiling + 1) if least_level(n, tests, claim) <= level]
    if not rounds:
        return ()
    last, looks = rounds[-1], {}
    keep = max(LAST_LOOK_SHARE * level, least_level(last, tests, claim))
    early = next((n for n in rounds[:-1] if level - least_level(n, tests, claim) >= keep), None)
    if early is not None:
        looks[early] = least_level(early, tests, claim)
    looks[last] = level - sum(looks.values(), Fraction(0))
    return tuple(looks.items())


def levels_at(looks, pairs):
    """(better-or-worse level, equivalence level) of the look after `pairs`
    rounds; 0 (decides nothing of that kind) where the plan does not look."""
    return tuple(looks[claim].get(pairs, Fraction(0)) for claim in CLAIMS)


def rounds(looks):
    """Every round the plan looks at, for either claim."""
    return sorted(set().union(*(looks[claim] for claim in CLAIMS)))


def next_look(looks, pairs):
    """The first round after `pairs` that the plan looks at, or None."""
    return min((n for n in rounds(looks) if n > pairs), default=None)
