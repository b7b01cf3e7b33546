"""The verdict's error rates and power, from simulated searches
(tuning/search/calibration.py: the verdict's own code on tables with known gaps).

Usage: python benchmarks/verdict_calibration.py [--searches 2000] [--leaky 10]

Each row is one setting (search repeats K, pruning, confirmation repeats) and
`--searches` simulated searches of ReLU and `--leaky` leaky configurations at
the demo's noise: `false_decided` is the share in which some comparison
against ReLU says better or worse when every gap is 0; `false_equivalent`
the share saying equivalent when every gap is +margin; `equivalent_at_0`
the share finding the best leaky one equivalent when every gap is 0; and
`better_at_margin` the share calling a single configuration truly +margin
better (the others at 0) better than ReLU: the power at the margin;
`best_mean_bias_points` how far the best mean of the equal configurations
lies above the truth (the flattery confirmation removes). Writes
benchmarks/results/verdict_calibration.csv.
"""

import argparse
import math
import os
import sys

import numpy as np
from common import report

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tuning import verdict  # noqa: E402
from tuning.search import calibration  # noqa: E402

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--leaky", type=int, default=10)
    args = parser.parse_args()
    delta, n = verdict.MARGIN_POINTS, args.searches
    rows = []
    for number, (k, prune, confirm) in enumerate(SETTINGS):
        options = dict(prune=prune, confirm=confirm)

        def run(gaps, offset, number=number, k=k, options=options):
            return calibration.decisions(np.random.default_rng(1000 * number + offset), gaps, k, n, **options)

        null = run([0.0] * args.leaky, 0)
        rows.append(
            {
                "repeats": k,
                "prune": "median" if prune else "none",
                "confirm": confirm,
                "searches": n,
                "false_decided": calibration.rate(null, {"better", "worse"}),
                "false_equivalent": calibration.rate(run([delta] * args.leaky, 1), {"equivalent"}),
                "equivalent_at_0": float(np.mean([bool(s) and s[0] == "equivalent" for s in null])),
                "better_at_margin": float(
                    np.mean(
                        [bool(s) and s[0] == "better" for s in run([delta] + [0.0] * (args.leaky - 1), 2)]
                    )
                ),
                "best_mean_bias_points": _selection_bias(
                    np.random.default_rng(1000 * number + 3), args.leaky, k, n
                ),
                "monte_carlo_se_at_5pct": math.sqrt(0.05 * 0.95 / n),
            }
        )
    report(rows, "verdict_calibration", list(rows[0]))


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
