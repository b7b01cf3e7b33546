"""The search's verdict on results tables made by hand: its numbers against
tuning/stats.py's tests, and its wording when a difference is beyond noise
and when none is."""

import numpy as np
import pandas as pd
import pytest

from tuning import results
from tuning import stats
from tuning import verdict

K = 3


def _frame(runs, statuses=None):
    """A results table: {trial_id: (mode, alpha, [val_accuracy per repeat])}."""
    rows = []
    for trial_id, (mode, alpha, values) in runs.items():
        row = {"trial_id": trial_id, "status": (statuses or {}).get(trial_id, "COMPLETED"),
               "mode": mode, "alpha": alpha, "val_accuracy": float(np.mean(values))}
        row.update(zip(results.repeat_columns(len(values)), values))
        rows.append(row)
    return pd.DataFrame(rows)


CLEAR = {  # per-channel alpha beats ReLU in every repeat by about 3 points
    "0": ("relu", 0.0, [0.900, 0.920, 0.910]),
    "1": ("channelwise", 0.1, [0.930, 0.951, 0.939]),
    "2": ("fixed", 0.01, [0.905, 0.921, 0.911]),
}
NOISE = {  # the differences change sign from repeat to repeat
    "0": ("relu", 0.0, [0.900, 0.930, 0.910]),
    "1": ("channelwise", 0.1, [0.915, 0.925, 0.912]),
    "2": ("fixed", 0.01, [0.890, 0.935, 0.905]),
}


def test_a_difference_beyond_noise_is_named_with_its_interval_and_p():
    found = verdict.decide(_frame(CLEAR), results.repeat_columns(K))
    relu = found["against_relu"]["comparisons"]
    assert [c["trial_id"] for c in relu] == ["1", "2"]  # best leaky first
    expected = stats.paired_test(CLEAR["1"][2], CLEAR["0"][2])
    assert relu[0]["difference"] == pytest.approx(expected["difference"])
    assert relu[0]["p"] == pytest.approx(expected["p"])
    others = stats.paired_test(CLEAR["2"][2], CLEAR["0"][2])["p"]
    assert relu[0]["p_adjusted"] == pytest.approx(min(1, 2 * min(expected["p"], others)))
    assert relu[0]["p_adjusted"] < 0.05
    text = found["text"]
    assert text.splitlines()[0] == (
        "Best: trial 1 (learned α per channel from 0.1), val_accuracy 94.0% ± "
        f"{100 * (found['best']['high'] - found['best']['val_accuracy']):.1f} (95% CI over 3 repeats)."
    )
    low, high = 100 * relu[0]["low"], 100 * relu[0]["high"]
    assert (
        "Against ReLU: trial 1 (learned α per channel from 0.1) beats ReLU by +3.0 points, "
        f"95% CI [{low:+.1f}, {high:+.1f}], p = {relu[0]['p']:.3g}; Holm-Bonferroni over 2 leaky "
        f"configurations: p = {relu[0]['p_adjusted']:.3g}."
    ) in text
    assert "0 of the other 2 finished configurations cannot be told from it" in text
    assert "\nBelow it beyond noise: trials 2, 0.\n" in text
    assert found["best"]["trial_id"] == "1" and found["configurations"] == 3


def test_no_difference_beyond_noise_says_so():
    found = verdict.decide(_frame(NOISE), results.repeat_columns(K))
    text = found["text"]
    assert "Against ReLU: no configuration differs from ReLU beyond noise at K = 3; the best leaky " \
           "one, trial 1 (learned α per channel from 0.1), differs by +0.4 points" in text
    assert "2 of the other 2 finished configurations cannot be told from it (paired t-test across " \
           "repeats, Holm-Bonferroni-corrected over 2 comparisons, p >= 0.05): trials 0, 2." in text
    assert all(c["p_adjusted"] >= 0.05 for c in found["against_best"])


def test_pruned_failed_and_unfinished_configurations_are_left_out():
    runs = dict(CLEAR, **{"3": ("fixed", 0.3, [0.99, float("nan"), float("nan")]),
                          "4": ("fixed", 0.5, [0.99, 0.99, 0.99])})
    found = verdict.decide(_frame(runs, statuses={"3": "COMPLETED", "4": "PRUNED"}), results.repeat_columns(K))
    assert found["best"]["trial_id"] == "1" and found["configurations"] == 3
    assert verdict.decide(_frame(runs, statuses={k: "PRUNED" for k in runs}), results.repeat_columns(K)) is None


def test_one_repeat_gives_no_verdict_only_a_warning():
    frame = _frame({"0": ("relu", 0.0, [0.9]), "1": ("fixed", 0.01, [0.95])})
    text = verdict.decide(frame, results.repeat_columns(1))["text"]
    assert text.startswith("Verdict: trial 1 (fixed α = 0.01) scored highest, but with one run per "
                           "configuration (--repeats 1) nothing tells it from luck.")


def test_summary_shows_mean_and_interval_half_width_best_first():
    frame = _frame(CLEAR)
    for trial_id, (_, _, values) in CLEAR.items():
        index = frame["trial_id"] == trial_id
        _, _, frame.loc[index, "val_accuracy_low"], frame.loc[index, "val_accuracy_high"] = stats.interval(values)
    for column in set(results.SUMMARY_COLUMNS) - set(frame.columns):
        frame[column] = None
    lines = results.summary(frame).splitlines()
    assert "val_accuracy (95% CI)" in lines[0]
    half = frame.set_index("trial_id").loc["1", "val_accuracy_high"] - frame.set_index("trial_id").loc["1", "val_accuracy"]
    assert lines[1].split()[0] == "1" and f"0.94 ± {half:.2g}" in lines[1]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "0"]
