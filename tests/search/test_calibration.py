"""The verdict's calibration: simulated searches of configurations with a
known gap to ReLU (tuning/search/calibration.py), decided by the verdict's own
code. This test is what makes its wording trustworthy: with K = 3, 5 and
10 repeats, with and without pruning and confirmation, ReLU first or
anywhere in the order, with whole-image ties and a margin that is not a
whole number of images, a false "better" or "worse" against ReLU, or
"equivalent" where the true gap is the margin, happens in at most 5% of
searches, within the Monte-Carlo error of SEARCHES simulations. Where the
test's assumption breaks (skewed differences) the rate is measured, not
bounded, and the verdict says what it assumes."""

import math

import numpy as np
import pytest

from tuning import verdict
from tuning.search import calibration

SEARCHES = 200
LEAKY = 6  # configurations besides ReLU
# 5% plus two Monte-Carlo standard errors of a 5% rate.
BOUND = 0.05 + 2 * math.sqrt(0.05 * 0.95 / SEARCHES)
SETTINGS = [  # (repeats, prune, confirm)
    (3, False, 0),
    (5, True, 0),
    (10, False, 0),
    (10, True, 0),
    (3, True, 8),
    (5, False, 8),
    (10, True, 6),
]
DELTA = verdict.MARGIN_POINTS


@pytest.mark.parametrize(
    "k, prune, confirm, baseline_at",
    [(*setting, 0) for setting in SETTINGS] + [(10, True, 0, 3), (3, True, 8, LEAKY)],
)
def test_equal_configurations_are_rarely_called_better_or_worse(k, prune, confirm, baseline_at):
    found = calibration.decisions(
        np.random.default_rng(k * 10 + confirm + baseline_at),
        [0.0] * LEAKY,
        k,
        SEARCHES,
        prune=prune,
        confirm=confirm,
        baseline_at=baseline_at,
    )
    assert calibration.rate(found, {"better", "worse"}) <= BOUND


def test_relu_is_never_pruned_wherever_it_is_in_the_order():
    # Before: ReLU as the sixth trial, behind five configurations 1.5 points better, was pruned by
    # the median in 91.8% of searches, and those searches had no comparison against ReLU at all.
    found = calibration.decisions(
        np.random.default_rng(4), [1.5] * LEAKY, 3, SEARCHES, prune=True, confirm=8, baseline_at=5
    )
    assert all(found) and calibration.rate(found, {"better"}) >= 0.95


@pytest.mark.parametrize("k, leaky", [(6, 1), (10, LEAKY)])
def test_a_margin_of_a_fraction_of_an_image_is_rarely_met_by_a_gap_of_the_margin(k, leaky):
    # 0.75 points of 288 images is 2.16 images; runs 0.05 points apart differ by 2 or 3 images.
    # Before: "equivalent" in 28.4% (K = 6) and 34.6% (K = 10) of these searches.
    found = calibration.decisions(
        np.random.default_rng(k), [0.75] * leaky, k, SEARCHES, size=288, run_points=0.05, margin_points=0.75
    )
    assert calibration.rate(found, {"equivalent"}) <= BOUND


def test_skewed_differences_are_judged_by_the_typical_run_as_the_verdict_says():
    # +1 image in 90% of runs, -9 in 10%: a mean gap of 0, a typical run 1 better. With 6 repeats
    # all six are +1 in 0.9^6 = 53% of searches, and the sign-flip test calls those "better":
    # what it decides is the typical run (docs/search.md quotes this rate). Measured, not bounded.
    found = calibration.decisions(np.random.default_rng(9), [0.0], 6, SEARCHES, size=100, skew=(1, 9, 0.1))
    assert 0.45 <= calibration.rate(found, {"better"}) <= 0.65
    table = calibration.search_table(np.random.default_rng(9), [0.0], 6, size=100, skew=(1, 9, 0.1))
    assert "not the mean of a skewed difference" in verdict.decide(table, 6)["text"]


@pytest.mark.parametrize(
    "k, prune, confirm, sign",
    [(*setting, 1) for setting in SETTINGS] + [(10, False, 0, -1), (3, True, 8, -1)],
)
def test_a_gap_of_the_margin_is_rarely_called_equivalent(k, prune, confirm, sign):
    found = calibration.decisions(
        np.random.default_rng(k * 10 + confirm + (sign > 0)),
        [sign * DELTA] * LEAKY,
        k,
        SEARCHES,
        prune=prune,
        confirm=confirm,
    )
    assert calibration.rate(found, {"equivalent"}) <= BOUND


def test_ties_of_whole_images_are_no_evidence():
    # 100 validation images and tiny run noise: most paired differences are 0 or +-1 image.
    rng = np.random.default_rng(7)
    table = calibration.search_table(rng, [0.0] * LEAKY, 10, size=100, run_points=0.3)
    spreads = [np.ptp(table.iloc[i][verdict.repeat_columns(10)] * 100) for i in range(len(table))]
    assert min(spreads) <= 3  # the case the old t-test decided on float noise
    found = calibration.decisions(rng, [0.0] * LEAKY, 10, SEARCHES, size=100, run_points=0.3)
    assert calibration.rate(found, {"better", "worse"}) <= BOUND


def test_equal_configurations_are_found_equivalent_when_the_repeats_suffice():
    # Not an error rate: the power that makes `equivalent` worth printing, at the demo's sizes.
    found = calibration.decisions(np.random.default_rng(3), [0.0] * LEAKY, 3, SEARCHES, prune=True, confirm=8)
    assert calibration.rate(found, {"equivalent"}) >= 0.8


def test_pruning_keeps_the_truly_better_configurations_chance_of_winning():
    rng_seed, wins = 11, {}
    for prune in (False, True):
        rng = np.random.default_rng(rng_seed)  # the same searches, pruned or not
        won = 0
        for _ in range(SEARCHES):
            table = calibration.search_table(rng, [0.5] + [0.0] * (LEAKY - 1), 3, prune=prune)
            won += verdict.finished(table, 3)["trial_id"].iloc[0] == "01"
        wins[prune] = won / SEARCHES
    assert wins[False] > 0.5 and abs(wins[True] - wins[False]) <= 0.03, wins


# The fast way to an answer (make demo's): one run per configuration to choose, then the best leaky
# one against ReLU on fresh seeds, equivalence looked at after round 5, a difference after 6, at most
# 10. The way before it (--prune race --repeats 2 --confirm auto:10, two leaky confirmed, equivalence
# at 2.5% a side, looks 8 and 10) ran 46.9 runs to a decision with all equal and 46.4 with one
# configuration 1 point better (1,000 such searches, this module's code at commit 5701d6d).
FORMER_RUNS = {"equal": 46.9, "one better": 46.4}
DEMO_LEAKY = 10


def _fast_way(gaps, seed, run_points=calibration.RUN_POINTS):
    searches = calibration.sequential_searches(
        np.random.default_rng(seed), gaps, 10, SEARCHES, on="confirm", k=1, run_points=run_points
    )
    runs = np.mean([(len(gaps) + 1) + (verdict.CONFIRMED_LEAKY + 1) * rounds for _, rounds in searches])
    return [decisions for decisions, _ in searches], runs


def test_the_fast_way_decides_in_half_the_runs_with_both_error_claims_under_five_percent():
    equal, runs = _fast_way([0.0] * DEMO_LEAKY, 21)
    assert runs <= 0.55 * FORMER_RUNS["equal"]
    assert calibration.rate(equal, {"better", "worse"}) <= BOUND
    assert calibration.rate(equal, {"equivalent"}) >= 0.95  # the power that makes it an answer
    at_margin, _ = _fast_way([verdict.MARGIN_POINTS] * DEMO_LEAKY, 22)
    assert calibration.rate(at_margin, {"equivalent"}) <= BOUND
    one_better, runs = _fast_way([1.0] + [0.0] * (DEMO_LEAKY - 1), 23)
    assert runs <= 0.55 * FORMER_RUNS["one better"]
    # 95.4% in 1,000 searches (benchmarks/results/verdict_edges.csv); here within 2 standard errors.
    assert calibration.rate(one_better, {"better"}) >= 0.95 - 2 * math.sqrt(0.05 * 0.95 / SEARCHES)
