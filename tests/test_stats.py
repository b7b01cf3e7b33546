"""The statistics of the search's verdict and the comparison study, against
hand computations on known numbers."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tuning import stats


def test_interval_is_the_student_t_interval_by_hand():
    values = [0.90, 0.92, 0.97]
    mean, std, low, high = stats.interval(values)
    hand_mean = (0.90 + 0.92 + 0.97) / 3
    hand_std = math.sqrt(sum((v - hand_mean) ** 2 for v in values) / 2)
    half = scipy_stats.t.ppf(0.975, 2) * hand_std / math.sqrt(3)  # t(0.975, 2 df) = 4.303
    assert scipy_stats.t.ppf(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert (mean, std) == pytest.approx((hand_mean, hand_std))
    assert (low, high) == pytest.approx((hand_mean - half, hand_mean + half))
    assert high - low == pytest.approx(2 * 4.3027 * 0.036056 / math.sqrt(3), abs=1e-4)


def test_interval_of_one_value_has_no_spread():
    mean, std, low, high = stats.interval([0.9])
    assert mean == 0.9 and np.isnan([std, low, high]).all()


def test_paired_test_by_hand():
    ours = [0.95, 0.96, 0.97, 0.99]
    theirs = [0.94, 0.94, 0.96, 0.96]
    differences = np.array([0.01, 0.02, 0.01, 0.03])
    d_mean, d_std = differences.mean(), differences.std(ddof=1)
    t = d_mean / (d_std / 2)  # sqrt(4 pairs)
    p = 2 * scipy_stats.t.sf(abs(t), 3)
    half = scipy_stats.t.ppf(0.975, 3) * d_std / 2
    result = stats.paired_test(ours, theirs)
    assert result["difference"] == pytest.approx(0.0175)
    assert result["p"] == pytest.approx(p) and result["p"] == pytest.approx(0.0354, abs=1e-4)  # t = 3.656, 3 df
    assert (result["low"], result["high"]) == pytest.approx((d_mean - half, d_mean + half))
    assert stats.paired_test(theirs, ours)["difference"] == pytest.approx(-0.0175)


def test_paired_test_is_undefined_without_spread_or_pairs():
    assert np.isnan(stats.paired_test([0.9, 0.95], [0.9, 0.95])["p"])  # identical runs
    assert np.isnan(stats.paired_test([0.91, 0.96], [0.9, 0.95])["p"])  # a constant gap
    assert np.isnan(stats.paired_test([0.91], [0.9])["p"])


def test_holm_by_hand():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to the 0.06 before it.
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    adjusted = stats.holm([0.02, float("nan"), 0.01])  # NaN is no comparison
    assert np.isnan(adjusted[1]) and adjusted[[0, 2]] == pytest.approx([0.02, 0.02])
    assert len(stats.holm([])) == 0
