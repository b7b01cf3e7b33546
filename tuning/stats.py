"""The statistics every report of the suite uses, defined once: a mean with
its t-interval, the paired t-test across seeds (or repeats), and Holm's
correction for testing several configurations against one."""

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE  # the significance level that goes with the interval


def interval(values, confidence=CONFIDENCE):
    """(mean, sample std, low, high) of `values` with a Student-t interval;
    std and the interval are NaN for fewer than two values."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1)) * std / np.sqrt(len(values))
    return mean, std, mean - half, mean + half


def paired_test(values, baseline, confidence=CONFIDENCE):
    """Paired t-test of `values` against `baseline`, matched by position
    (seed or repeat). Returns a dict with the mean `difference` (values -
    baseline), its t-interval `low`/`high`, and the two-sided `p`. p is NaN
    when the test is undefined: fewer than two pairs, or differences with
    no spread (a t-test cannot weigh them, so nothing is claimed)."""
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
