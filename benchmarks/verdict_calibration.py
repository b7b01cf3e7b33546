"""The verdict's error rates and power, from simulated searches
(tuning/search/calibration.py: the verdict's own code on tables with known gaps).

Usage: python benchmarks/verdict_calibration.py [--searches 1000] [--leaky 10]

verdict_calibration.csv: each row is one setting (search repeats K, pruning,
confirmation repeats) and `--searches` simulated searches of ReLU and
`--leaky` leaky configurations at the demo's noise: `false_decided` is the
share in which some comparison against ReLU says better or worse when every
gap is 0; `false_equivalent` the share saying equivalent when every gap is
+margin; `equivalent_at_0` the share finding the best leaky one equivalent
when every gap is 0; and `better_at_margin` the share calling a single
configuration truly +margin better (the others at 0) better than ReLU: the
power at the margin; `best_mean_bias_points` how far the best mean of the
equal configurations lies above the truth (the flattery confirmation removes).

verdict_edges.csv: the verdict at its edges, one `case` a row, `rate` the
share of `searches` in which `event` happened, beside the `bound` it must
stay under where it is an error rate (empty where the rate is measured, not
bounded): the race's false drops per race, ReLU anywhere in the order with
median pruning, a margin that is not a whole number of images, skewed
differences, and the fast way to an answer (make demo's: `--repeats 1
--confirm auto:10`, ReLU and 10 leaky configurations): its plan of looks
(the ceiling keeping a third of each budget, as it does, or a half), and
what repeats in the search buy (`--repeats 3`: a better choice of the
candidate among close configurations, for more runs).
"""

import argparse
import math
import os
import sys
from fractions import Fraction

import numpy as np
from common import report

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tuning import verdict  # noqa: E402
from tuning.search import calibration  # noqa: E402
from tuning.verdict import sequential  # noqa: E402

SETTINGS = [
    (3, False, 0),
    (3, True, 0),
    (5, True, 0),
    (10, False, 0),
    (10, True, 0),
    (3, True, 8),
    (3, False, 8),
    (5, True, 8),
    (10, True, 10),
]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--leaky", type=int, default=10)
    args = parser.parse_args(argv)
    settings_table(args.searches, args.leaky)
    edges_table(args.searches)


def settings_table(n, leaky):
    delta, rows = verdict.MARGIN_POINTS, []
    for number, (k, prune, confirm) in enumerate(SETTINGS):
        options = dict(prune=prune, confirm=confirm)

        def run(gaps, offset, number=number, k=k, options=options):
            return calibration.decisions(np.random.default_rng(1000 * number + offset), gaps, k, n, **options)

        null = run([0.0] * leaky, 0)
        rows.append(
            {
                "repeats": k,
                "prune": "median" if prune else "none",
                "confirm": confirm,
                "searches": n,
                "false_decided": calibration.rate(null, {"better", "worse"}),
                "false_equivalent": calibration.rate(run([delta] * leaky, 1), {"equivalent"}),
                "equivalent_at_0": _first(null, "equivalent"),
                "better_at_margin": _first(run([delta] + [0.0] * (leaky - 1), 2), "better"),
                "best_mean_bias_points": _selection_bias(
                    np.random.default_rng(1000 * number + 3), leaky, k, n
                ),
                "monte_carlo_se_at_5pct": math.sqrt(0.05 * 0.95 / n),
            }
        )
    report(rows, "verdict_calibration", list(rows[0]))


def edges_table(n):
    bound = 0.05
    rows = []

    def row(case, event, rate, limit=None):
        rows.append({"case": case, "event": event, "searches": n, "rate": rate, "bound": limit})

    for ceiling, leaky, size, noise in ((3, 10, 800, 0.28), (10, 6, 800, 0.28), (10, 10, 288, 0.28)):
        row(
            f"race of {leaky} leaky, {ceiling} rounds, {size} images",
            "some equal configuration dropped",
            _race_drops(np.random.default_rng(5), n, ceiling, leaky, size, noise),
            bound,
        )
    found = calibration.decisions(
        np.random.default_rng(4), [1.5] * 6, 3, n, prune=True, confirm=8, baseline_at=5
    )
    row("median pruning, ReLU sixth", "no comparison against ReLU", float(np.mean([not s for s in found])))
    for k, leaky in ((6, 1), (10, 6)):
        found = calibration.decisions(
            np.random.default_rng(k), [0.75] * leaky, k, n, size=288, run_points=0.05, margin_points=0.75
        )
        row(
            f"margin 0.75 points of 288 images, K = {k}, {leaky} leaky",
            "equivalent at a gap of the margin",
            calibration.rate(found, {"equivalent"}),
            bound,
        )
    found = calibration.decisions(np.random.default_rng(9), [0.0], 6, n, size=100, skew=(1, 9, 0.1))
    row("skewed: +1 image in 90% of runs, -9 in 10%, K = 6", "better", calibration.rate(found, {"better"}))
    for share in (Fraction(1, 3), Fraction(1, 2)):
        for noise in (0.28, 0.5):
            case = f"fast way, the ceiling keeping {share} of each budget, noise {noise}"
            found, runs = _fast_way(np.random.default_rng(1), n, [0.0] * 10, noise, share)
            row(case, "equivalent, all equal", _first(found, "equivalent"))
            row(case, "runs, all equal, mean", runs)
            row(case, "better or worse, all equal", calibration.rate(found, {"better", "worse"}), bound)
            found, runs = _fast_way(np.random.default_rng(2), n, [1.0] + [0.0] * 9, noise, share)
            row(case, "better, one configuration 1 point better", _first(found, "better"))
            row(case, "runs, one configuration 1 point better, mean", runs)
    for repeats in (1, 3):
        for noise in (0.28, 0.5):
            case = f"fast way with --repeats {repeats}, noise {noise}"
            found, runs = _fast_way(np.random.default_rng(2), n, [1.0] + [0.0] * 9, noise, repeats=repeats)
            row(case, "better, one configuration 1 point better", _first(found, "better"))
            row(case, "runs, one configuration 1 point better, mean", runs)
    report(rows, "verdict_edges", list(rows[0]))


def _first(found, decision):
    return float(np.mean([bool(s) and s[0] == decision for s in found]))


def _race_drops(rng, n, ceiling, leaky, size, noise):
    races = 0
    for _ in range(n):
        table = calibration.search_table(rng, [0.0] * leaky, ceiling, size=size, run_points=noise)
        races += bool((calibration.race_table(table, ceiling, ceiling)["status"] == "PRUNED").any())
    return races / n


def _fast_way(rng, n, gaps, noise, share=sequential.LAST_LOOK_SHARE, repeats=1):
    """The decisions of `n` searches `--repeats R --confirm auto:10` of ReLU
    and `gaps`, the plan's ceiling keeping `share` of each budget, and the
    mean runs they trained (search and confirmation)."""
    today = sequential.LAST_LOOK_SHARE
    sequential.LAST_LOOK_SHARE = share
    try:
        searches = calibration.sequential_searches(
            rng, gaps, 10, n, on="confirm", k=repeats, run_points=noise
        )
    finally:
        sequential.LAST_LOOK_SHARE = today
    per_round = verdict.CONFIRMED_LEAKY + 1
    runs = [(len(gaps) + 1) * repeats + per_round * rounds for _, rounds in searches]
    return [decisions for decisions, _ in searches], float(np.mean(runs))


def _selection_bias(rng, leaky, k, searches):
    """Mean points by which the best of `leaky` + 1 equal configurations' means exceeds the truth."""
    columns = verdict.repeat_columns(k)
    excess = [
        verdict.finished(calibration.search_table(rng, [0.0] * leaky, k), k)[columns]
        .iloc[0]
        .astype(float)
        .mean()
        - calibration.BASE_ACCURACY
        for _ in range(searches)
    ]
    return 100 * float(np.mean(excess))


if __name__ == "__main__":
    main()
