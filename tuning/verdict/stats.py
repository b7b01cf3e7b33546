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

The comparison study keeps the paired t-test across seeds, Holm-corrected.
"""

import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
LEVEL = 0.05  # the test's level, written out: 1 - 0.95 is 0.050000000000000044
# Up to this many pairs every sign pattern is enumerated; beyond, this many
# subsets are drawn at random (seeded), which keeps the test valid.
EXACT_PAIRS_MAX = 16
SUBSETS_DRAWN = 2**16 - 1
POWER = 0.8  # for "about how many repeats would settle it"
DECISIONS = ("better", "worse", "equivalent", "undecided")


def interval(values, confidence=CONFIDENCE):
    """(mean, sample std, low, high) of `values` with a Student-t interval;
    std and the interval are NaN for fewer than two values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1)) * std / np.sqrt(len(values))
    return mean, std, mean - half, mean + half


def subset_means(differences, seed=0):
    """The sorted means of the non-empty subsets of `differences` and N, the
    number of sign patterns they stand for (2^K; with more than
    EXACT_PAIRS_MAX pairs, SUBSETS_DRAWN random subsets and N = their count
    + 1)."""
    d = np.asarray(differences, dtype=float)
    k = len(d)
    if k <= EXACT_PAIRS_MAX:
        masks = np.arange(1, 2**k, dtype=np.int64)
        members = ((masks[:, None] >> np.arange(k)) & 1).astype(bool)
    else:
        members = np.random.default_rng(seed).random((SUBSETS_DRAWN, k)) < 0.5
        members = members[members.any(axis=1)]
    sums, sizes = members @ d, members.sum(axis=1)
    return np.sort(sums / sizes), len(sums) + 1


def sign_flip(differences, tests=1, level=LEVEL, margin=None):
    """The exact sign-flip test of the mean of paired `differences` (one per
    repeat, in whole validation images), as one of `tests` comparisons of a
    family at family-wise `level` (Bonferroni: each interval at 1 -
    level / tests, so all hold together).

    Returns a dict: `difference` (the mean), `low`/`high` (the family's
    interval; infinite where K pairs cannot bound it), `p` (two-sided,
    exact) and `p_adjusted` (min(1, tests * p)), and `decision`:
    "equivalent" if the interval lies within (-margin, +margin) (two
    one-sided tests, each at level / (2 * tests)), else "better" if it lies
    above 0, "worse" if below, else "undecided". Equivalence comes first: a
    difference shown to be smaller than the margin is the same answer on
    any machine, whether or not its interval also clears 0."""
    d = np.asarray(differences, dtype=float)
    means, patterns = subset_means(d)
    # Rejecting "mean <= mu" at level a needs 1 + #{subset means <= mu} <= a * N.
    rank = math.floor(Fraction(str(level)) / (2 * tests) * patterns) - 1
    low, high = (means[rank], means[-1 - rank]) if rank >= 0 else (-math.inf, math.inf)
    p_above = (1 + int(np.count_nonzero(means <= 0))) / patterns  # H0: mean <= 0
    p_below = (1 + int(np.count_nonzero(means >= 0))) / patterns  # H0: mean >= 0
    p = min(1.0, 2 * min(p_above, p_below))
    within = margin is not None and -margin < low and high < margin
    decision = "equivalent" if within else "better" if low > 0 else "worse" if high < 0 else "undecided"
    return {
        "difference": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "p": p,
        "p_adjusted": min(1.0, tests * p),
        "tests": tests,
        "pairs": len(d),
        "decision": decision,
    }


def fewest_pairs(tests=1, level=LEVEL):
    """The fewest pairs with which the sign-flip test can decide anything
    as one of `tests` comparisons: 2^K must reach 2 * tests / level."""
    k, share = 1, Fraction(str(level)) / (2 * tests)
    while share * 2**k < 1:
        k += 1
    return k


def pairs_to_settle(differences, margin, tests=1, level=LEVEL, power=POWER):
    """About how many pairs would settle the comparison (better, worse, or
    equivalent within +-margin) with probability `power`, if the differences
    keep their observed mean and spread (a normal approximation, at least
    `fewest_pairs` and more than there are). None if they have no spread
    to go on."""
    d = np.asarray(differences, dtype=float)
    spread = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    floor = fewest_pairs(tests, level)
    if not spread > 0:
        return None
    z = NormalDist().inv_cdf(1 - level / (2 * tests)) + NormalDist().inv_cdf(power)
    distances = [abs(d.mean())] + ([margin - abs(d.mean())] if margin and abs(d.mean()) < margin else [])
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
