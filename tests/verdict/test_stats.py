"""The statistics of the search's verdict and the comparison study, against
hand computations and brute-force enumerations on known numbers."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tuning.verdict import stats


def test_interval_is_the_student_t_interval_by_hand():
    values = [0.90, 0.92, 0.97]
    mean, std, low, high = stats.interval(values)
    hand_mean = (0.90 + 0.92 + 0.97) / 3
    hand_std = math.sqrt(sum((v - hand_mean) ** 2 for v in values) / 2)
    half = scipy_stats.t.ppf(0.975, 2) * hand_std / math.sqrt(3)  # t(0.975, 2 df) = 4.303
    assert scipy_stats.t.ppf(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert (mean, std) == pytest.approx((hand_mean, hand_std))
    assert (low, high) == pytest.approx((hand_mean - half, hand_mean + half))


def test_interval_of_one_value_has_no_spread():
    mean, std, low, high = stats.interval([0.9])
    assert mean == 0.9 and np.isnan([std, low, high]).all()


def test_the_level_is_exactly_five_percent():
    assert stats.LEVEL == 0.05 and repr(stats.LEVEL) == "0.05"
    # Equivalence comes first: one side at 5% / T needs 2^K >= 20 T.
    assert stats.fewest_pairs(1) == 5 and stats.fewest_pairs(2) == 6 and stats.fewest_pairs(6) == 7


def _enumerated_p(differences):
    """Two-sided sign-flip p by listing every sign pattern."""
    observed = abs(sum(differences))
    sums = [
        abs(sum(s * d for s, d in zip(signs, differences)))
        for signs in itertools.product((1, -1), repeat=len(differences))
    ]
    return sum(total >= observed for total in sums) / len(sums)


def test_sign_flip_p_by_hand_and_by_enumeration():
    # d = 1, 2, 3: only the pattern and its mirror reach |sum| = 6 of 8.
    assert stats.sign_flip([1, 2, 3])["p"] == pytest.approx(2 / 8)
    rng = np.random.default_rng(0)
    for k in (2, 4, 5, 7):
        for _ in range(20):
            d = rng.integers(-4, 7, k)
            assert stats.sign_flip(d)["p"] == pytest.approx(min(1.0, _enumerated_p(d))), d


def test_no_spread_is_a_defined_test_not_a_certainty():
    # One validation image better in every repeat: the 781/761/791 against 780/760/790.
    ours, theirs = np.array([781, 761, 791]), np.array([780, 760, 790])
    result = stats.sign_flip(ours - theirs, margin_images=8)
    assert result["p"] == pytest.approx(0.25) and result["decision"] == "undecided"
    assert result["low"] == -math.inf and result["high"] == math.inf  # 3 pairs bound nothing at 5%
    six = stats.sign_flip([1] * 6)
    assert six["p"] == pytest.approx(2 / 64) and (six["low"], six["high"]) == (1, 1)
    assert six["decision"] == "better"
    assert stats.sign_flip([1] * 6, margin_images=8)["decision"] == "equivalent"  # within 8 images
    assert stats.sign_flip([0] * 6)["p"] == 1.0


def test_the_interval_is_the_set_of_shifts_the_test_does_not_reject():
    rng = np.random.default_rng(1)
    for k, tests in ((6, 1), (7, 2), (8, 3)):
        d = rng.integers(-5, 9, k)
        result = stats.sign_flip(d, tests=tests)
        side = stats.LEVEL / (2 * tests)
        for shift in np.arange(-8, 12, 0.25):
            e = d - shift
            p_above = np.mean(
                [
                    sum(s * x for s, x in zip(signs, e)) >= e.sum() - 1e-9
                    for signs in itertools.product((1, -1), repeat=k)
                ]
            )
            p_below = np.mean(
                [
                    sum(s * x for s, x in zip(signs, e)) <= e.sum() + 1e-9
                    for signs in itertools.product((1, -1), repeat=k)
                ]
            )
            inside = result["low"] <= shift <= result["high"]
            assert inside == (p_above > side and p_below > side), (d, tests, shift)


def test_decisions_follow_the_interval_equivalence_first():
    assert stats.sign_flip([20, 22, 25, 19, 30, 24, 21], margin_images=8)["decision"] == "better"
    assert stats.sign_flip([-20, -22, -25, -19, -30, -24, -21], margin_images=8)["decision"] == "worse"
    near = stats.sign_flip([1, 2, 1, 3, 2, 1, 2], margin_images=8)
    assert near["decision"] == "equivalent" and near["low"] > 0  # above 0, but by less than the margin
    assert stats.sign_flip([10, -12, 8, -9, 11, -7, 9], margin_images=8)["decision"] == "undecided"
    adjusted = stats.sign_flip([1, 2, 1, 3, 2, 1, 2], tests=3)
    assert adjusted["p_adjusted"] == pytest.approx(min(1, 3 * adjusted["p"]))


def test_up_to_twenty_pairs_every_sign_pattern_counts_beyond_them_a_million_are_drawn():
    d = np.array([3, -1, 2, 4, 0, 1, 2, 5, -2, 3, 1, 2, 4, 0, 3, 2, 1, 2, 3, 1])  # 20 pairs
    means, patterns = stats.subset_means(d)
    assert patterns == 2**20 == len(means) + 1
    signs = np.random.default_rng(0).choice([-1, 1], (2000, 20))
    # p of "mean <= 0" by sampling sign patterns agrees with the enumeration's exact count.
    exact = (1 + np.count_nonzero(means <= 0)) / patterns
    assert exact == pytest.approx(np.mean((signs @ d) >= d.sum()), abs=0.01)
    first, second = stats.sign_flip(d), stats.sign_flip(d)
    assert first == second and first["p"] < 0.001 and first["decision"] == "better"
    t_low, t_high = stats.interval(d)[2:]
    assert abs(first["low"] - t_low) < 0.5 and abs(first["high"] - t_high) < 0.5  # close to the t interval
    many = np.tile(d, 2)[:27]  # 27 pairs: drawn, reproducibly, at the resolution of 20
    drawn = stats.sign_flip(many)
    assert drawn == stats.sign_flip(many) and stats.resolution(27) == 2**20
    assert stats.sign_flip([5] * 27)["p"] == 2 / 2**20  # the smallest p there is: known, reachable


@pytest.mark.parametrize("ceiling, tests", [(20, 10), (20, 2), (22, 1), (40, 10), (100, 10), (100, 2)])
def test_every_planned_look_can_decide_a_unanimous_gap_or_a_unanimous_tie(ceiling, tests):
    # Before: past 16 pairs the test drew 65,536 patterns, whose smallest p missed the looks' levels.
    from tuning.verdict import sequential

    looks = sequential.plan(ceiling, tests)
    for look, level in looks["difference"].items():
        result = stats.sign_flip([5] * look, tests=tests, level=level, margin_images=2, equivalence_level=0)
        assert result["decision"] == "better", (look, level)
    for look, level in looks["equivalence"].items():
        result = stats.sign_flip([1] * look, tests=tests, level=0, margin_images=2, equivalence_level=level)
        assert result["decision"] == "equivalent", (look, level)


def test_the_interval_says_its_own_exact_level():
    seven = stats.sign_flip([3, 1, 4, 1, 5, 9, 2], tests=2)  # 1.25% a side reaches only 1/128
    assert seven["confidence"] == 1 - 2 / 128
    ten = stats.sign_flip([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], tests=2)  # 12 of 1024 a side
    assert ten["confidence"] == 1 - 24 / 1024 and ten["confidence"] > 1 - 0.05 / 2
    assert stats.sign_flip([1, 2, 3])["confidence"] is None  # unbounded


def test_equivalence_and_a_difference_spend_budgets_of_their_own():
    d = [3, 1, 4, 1, 5, 9, 2]
    result = stats.sign_flip(d, margin_images=8)
    # Better or worse at 2.5% a side (3 of 128); equivalent by two one-sided tests at 5% each (6 of 128).
    assert result["confidence"] == 1 - 6 / 128 and result["equivalence_confidence"] == 1 - 12 / 128
    means, _ = stats.subset_means(d)
    assert (result["equivalence_low"], result["equivalence_high"]) == (means[5], means[-6])
    assert result["decision"] == "equivalent"
    # Two one-sided tests at 5% each put this inside 8 images; each at 2.5% (the former rule) did not.
    edge = [8, 7, 0, 4, 9, 6, 0]
    assert stats.sign_flip(edge, margin_images=8)["equivalence_high"] == pytest.approx(23 / 3)
    assert stats.sign_flip(edge, margin_images=8)["decision"] == "equivalent"
    assert stats.sign_flip(edge, margin_images=8, equivalence_level=0.025)["decision"] == "undecided"
    assert (
        stats.sign_flip(d, margin_images=8, equivalence_level=0)["decision"] == "better"
    )  # no equivalence look


def test_a_margin_in_images_counts_whole_images():
    # 2.16 images is 2: differences of 2 and 3 (a true gap of 2.16, nearly noise-free) are not within it.
    assert (
        stats.whole_margin(2.16) == 2
        and stats.whole_margin(8.0) == 8
        and stats.whole_margin(7.9999999999) == 8
    )
    assert stats.sign_flip([2, 2, 2, 3, 2, 2, 2, 2], margin_images=2.16)["decision"] == "better"
    assert stats.sign_flip([1, 2, 1, 1, 0, 1, 1, 1], margin_images=2.16)["decision"] == "equivalent"
    assert stats.sign_flip([0] * 8, margin_images=0.9)["decision"] == "undecided"  # under one image: never


def test_pairs_to_settle_by_the_normal_approximation():
    d = np.array([2.0, -1.0, 3.0, 0.0, 1.0, 1.0])
    z = scipy_stats.norm.ppf(1 - 0.05 / 2) + scipy_stats.norm.ppf(0.8)
    by_hand = math.ceil((z * d.std(ddof=1) / (8 - d.mean())) ** 2)
    assert stats.pairs_to_settle(d, margin_images=8) == max(by_hand, 7)  # more than the 6 it has
    assert stats.pairs_to_settle([1, 1, 1], margin_images=8) is None  # no spread to go on


def test_wilson_interval_by_hand():
    low, high = stats.wilson(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert stats.wilson(100, 100)[1] == 1.0 and stats.wilson(100, 100)[0] == pytest.approx(0.9630, abs=1e-4)


def test_paired_t_test_by_hand():
    ours = [0.95, 0.96, 0.97, 0.99]
    theirs = [0.94, 0.94, 0.96, 0.96]
    differences = np.array([0.01, 0.02, 0.01, 0.03])
    d_mean, d_std = differences.mean(), differences.std(ddof=1)
    t = d_mean / (d_std / 2)  # sqrt(4 pairs)
    p = 2 * scipy_stats.t.sf(abs(t), 3)
    result = stats.paired_t_test(ours, theirs)
    assert result["difference"] == pytest.approx(0.0175)
    assert result["p"] == pytest.approx(p) and result["p"] == pytest.approx(0.0354, abs=1e-4)
    assert np.isnan(stats.paired_t_test([0.91, 0.96], [0.9, 0.95])["p"])  # a constant gap


def test_holm_by_hand():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to the 0.06 before it.
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    adjusted = stats.holm([0.02, float("nan"), 0.01])  # NaN is no comparison
    assert np.isnan(adjusted[1]) and adjusted[[0, 2]] == pytest.approx([0.02, 0.02])
    assert len(stats.holm([])) == 0


def test_holm_over_paired_t_tests_keeps_the_family_wise_error_of_compare():
    # compare's family: 5 activations against one shared ReLU and one pair more, 5 seeds each,
    # all equal (a shared seed effect, normal noise); a false "beyond seed noise" anywhere is an error.
    rng, families, errors = np.random.default_rng(0), 2000, 0
    for _ in range(families):
        seeds = rng.normal(0, 1.0, 5)
        runs = seeds + rng.normal(0, 0.5, (6, 5))  # row 0: ReLU
        pairs = [(i, 0) for i in range(1, 6)] + [(2, 1)]
        raw = [stats.paired_t_test(runs[a], runs[b])["p"] for a, b in pairs]
        errors += bool((stats.holm(raw) <= stats.LEVEL).any())
    assert errors / families <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / families)
