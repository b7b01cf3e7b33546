"""The statistics every report of the suite uses, defined once.

The search's verdict compares configurations repeat by repeat (repeat j of
each shares its seed) with the exact sign-flip test of the mean paired
difference: under "no difference" each difference is as likely to have
either sign, so the observed sum is ranked among the 2^K sums its sign
patterns give. It needs no variance estimate, so three repeats that happen
to agree closely cannot turn into a finding, and it is defined when the
differences have no spread. Its confidence interval is the set of shifts it
does not reject, read off the sorted means of the 2^K - 1 non-empty subsets
of the differences (Hartigan 1969). The price of exactness: K repeats can
reach no p below 2 / 2^K, so a 5% two-sided decision needs K >= 6.

What it assumes: under "no difference" a pair's difference is as likely
positive as negative, so the test is exact when the run-to-run differences
are symmetric about their centre; it then decides where that centre lies,
the typical run's difference. A skewed difference (one image better in
most runs, nine worse in a few) is judged by its typical run, not its mean
(tests/search/test_calibration.py measures how often).

The comparison study keeps the paired t-test across seeds, Holm-corrected.
"""

import functools
import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
LEVEL = 0.05  # the test's level, written out: 1 - 0.95 is 0.050000000000000044
# Up to this many pairs every sign pattern is enumerated (2^20 subset sums,
# 8 MB); beyond, this many subsets are drawn at random (seeded), which keeps
# the test valid and its resolution that of 20 pairs.
EXACT_PAIRS_MAX = 20
SUBSETS_DRAWN = 2**EXACT_PAIRS_MAX - 1
DRAWN_PER_BLOCK = 2**16
POWER = 0.8  # for "about how many repeats would settle it"
DECISIONS = ("better", "worse", "equivalent", "undecided")


def interval(values, confidence=CONFIDENCE):
    """(mean, sample std, low, high) of `values` with a Student-t interval;
    std and the interval are NaN for fewer than two values."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(values.std(ddof=1))
    half = _t_quantile((1 + confidence) / 2, len(values) - 1) * std / np.sqrt(len(values))
    return mean, std, mean - half, mean + half


@functools.lru_cache(maxsize=256)
def _t_quantile(probability, freedom):
    """Student's t quantile, kept: scipy solves for it on every call, and
    the calibration's simulations ask for the same few thousands of times."""
    from scipy import stats

    return float(stats.t.ppf(probability, freedom))


def resolution(pairs):
    """N, the number of sign patterns the test of `pairs` pairs ranks its
    observed sum among: 2^pairs, or the drawn subsets + 1 beyond
    EXACT_PAIRS_MAX. No p (one side) is below 1 / N."""
    return 2 ** min(pairs, EXACT_PAIRS_MAX)


def subset_means(differences, seed=0):
    """The sorted means of the non-empty subsets of `differences` and N, the
    number of sign patterns they stand for (`resolution`): every subset up
    to EXACT_PAIRS_MAX pairs, else SUBSETS_DRAWN random ones."""
    d = np.asarray(differences, dtype=float)
    if len(d) <= EXACT_PAIRS_MAX:
        sums, sizes = np.zeros(1), np.zeros(1, dtype=np.int8)
        for value in d:  # each subset without, then with, this pair
            sums, sizes = np.concatenate([sums, sums + value]), np.concatenate([sizes, sizes + 1])
        sums, sizes = sums[1:], sizes[1:]
    else:
        rng, parts = np.random.default_rng(seed), []
        for start in range(0, SUBSETS_DRAWN, DRAWN_PER_BLOCK):
            members = rng.random((min(DRAWN_PER_BLOCK, SUBSETS_DRAWN - start), len(d))) < 0.5
            empty = ~members.any(axis=1)
            while empty.any():  # drawn again: uniform over the non-empty subsets, as enumerated
                members[empty] = rng.random((int(empty.sum()), len(d))) < 0.5
                empty = ~members.any(axis=1)
            parts.append((members @ d, members.sum(axis=1)))
        sums, sizes = (np.concatenate(part) for part in zip(*parts))
    return np.sort(sums / sizes), resolution(len(d))


def sign_flip(differences, tests=1, level=LEVEL, margin_images=None, equivalence_level=None):
    """The exact sign-flip test of the mean of paired `differences` (one per
    repeat, in whole validation images), as one of `tests` comparisons of a
    family, with two error budgets kept apart: `level` for calling a
    difference better or worse (two-sided, Bonferroni: each interval at
    1 - level / tests), and `equivalence_level` (default: `level`) for
    calling it equivalent within the margin (two one-sided tests, each at
    equivalence_level / tests). Each false claim, "better or worse" where
    there is no difference and "equivalent" where the difference is the
    margin, so stays under its own 5%.

    Returns a dict: `difference` (the mean), `low`/`high` (the
    better-or-worse interval; infinite where K pairs cannot bound it),
    `confidence` (that interval's own level, exactly: the test's levels are
    multiples of 1 / N, so it is at least 1 - level / tests; None when
    unbounded), the same for equivalence (`equivalence_low`,
    `equivalence_high`, `equivalence_confidence`), `p` (two-sided, exact)
    and `p_adjusted` (min(1, tests * p)), and `decision`: "equivalent" if
    the equivalence interval lies within the margin, else "better" if the
    other lies above 0, "worse" if below, else "undecided". Equivalence
    comes first: a difference shown to be smaller than the margin is the
    same answer on any machine, whether or not it also clears 0. A level of
    0 decides nothing of its kind (a sequential look that is not planned
    for it).

    `margin_images` is the margin in images, and differences are whole images: a run
    that is 2.16 images off is 2 or 3 images off, so a margin of 2.16 images is
    taken as 2 (`whole_margin`) and equivalence needs the interval strictly
    inside (-2, +2). Otherwise nearly noise-free runs whose true gap is the
    margin would show differences of 2 and call it equivalent."""
    d = np.asarray(differences, dtype=float)
    means, patterns = subset_means(d)
    level = Fraction(str(level))
    equivalence_level = level if equivalence_level is None else Fraction(str(equivalence_level))
    low, high, confidence = _interval(means, patterns, level / (2 * tests))
    equivalence = _interval(means, patterns, equivalence_level / tests)
    p_above = (1 + int(np.count_nonzero(means <= 0))) / patterns  # H0: mean <= 0
    p_below = (1 + int(np.count_nonzero(means >= 0))) / patterns  # H0: mean >= 0
    p = min(1.0, 2 * min(p_above, p_below))
    whole = whole_margin(margin_images)
    within = whole is not None and -whole < equivalence[0] and equivalence[1] < whole
    decision = "equivalent" if within else "better" if low > 0 else "worse" if high < 0 else "undecided"
    return {
        "difference": float(d.mean()),
        "low": low,
        "high": high,
        "confidence": confidence,
        "equivalence_low": equivalence[0],
        "equivalence_high": equivalence[1],
        "equivalence_confidence": equivalence[2],
        "p": p,
        "p_adjusted": min(1.0, tests * p),
        "tests": tests,
        "pairs": len(d),
        "decision": decision,
    }


def _interval(means, patterns, side):
    """(low, high, confidence) of the shifts the test does not reject at
    `side` a side: rejecting "mean <= mu" at level a needs
    1 + #{subset means <= mu} <= a * N."""
    rank = math.floor(side * patterns) - 1
    if rank < 0:
        return -math.inf, math.inf, None
    return float(means[rank]), float(means[-1 - rank]), 1 - 2 * (rank + 1) / patterns


def whole_margin(margin_images):
    """A margin in images as the whole images equivalence is decided
    within: 8 stays 8, 2.16 becomes 2 (None stays None)."""
    return None if margin_images is None else math.floor(margin_images + 1e-9)


def fewest_pairs(tests=1, level=LEVEL):
    """The fewest pairs with which the sign-flip test can decide anything
    as one of `tests` comparisons at `level` per claim: equivalence, one
    side at level / tests, comes first. None if no number of pairs can."""
    share = Fraction(str(level)) / tests
    return next((k for k in range(1, EXACT_PAIRS_MAX + 1) if share * resolution(k) >= 1), None)


def pairs_to_settle(differences, margin_images, tests=1, level=LEVEL, power=POWER):
    """About how many pairs would settle the comparison (better, worse, or
    equivalent within +-margin_images images) with probability `power`, if the differences
    keep their observed mean and spread (a normal approximation, at least
    `fewest_pairs` and more than there are). None if they have no spread
    to go on."""
    d = np.asarray(differences, dtype=float)
    spread = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    floor = fewest_pairs(tests, level)
    if not spread > 0 or floor is None:
        return None
    z = NormalDist().inv_cdf(1 - level / (2 * tests)) + NormalDist().inv_cdf(power)
    distances = [abs(d.mean())] + (
        [margin_images - abs(d.mean())] if margin_images and abs(d.mean()) < margin_images else []
    )
    needed = min((z * spread / gap) ** 2 if gap > 0 else math.inf for gap in distances)
    return max(floor, len(d) + 1, math.ceil(needed)) if math.isfinite(needed) else None


def wilson(correct, total, confidence=CONFIDENCE):
    """Wilson's interval (low, high) for a proportion of `correct` in `total`."""
    if total <= 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    share = correct / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_t_test(values, baseline, confidence=CONFIDENCE):
    """Paired t-test of `values` against `baseline`, matched by position
    (seed). Returns a dict with the mean `difference` (values - baseline),
    its t-interval `low`/`high`, and the two-sided `p`; p is NaN when the
    test is undefined: fewer than two pairs, or differences with no spread."""
    from scipy import stats

    differences = np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float)
    mean, std, low, high = interval(differences, confidence)
    if len(differences) < 2 or std == 0:
        p = float("nan")
    else:
        p = float(stats.ttest_rel(values, baseline).pvalue)
    return {"difference": mean, "low": low, "high": high, "p": p}


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values, in the order given; NaN stays NaN
    and does not count as a comparison."""
    pvalues = np.asarray(pvalues, dtype=float)
    adjusted = np.full(len(pvalues), np.nan)
    tested = np.flatnonzero(~np.isnan(pvalues))
    order = tested[np.argsort(pvalues[tested], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted
