"""The search's verdict, in numbers and plain words: the best configuration,
which others the repeats cannot tell from it, and how the best leaky
configuration stands against the ReLU baseline.

Tests are paired t-tests across repeats (repeat j of every configuration
shares its seed), Holm-corrected for the number of comparisons, at the 5%
level that goes with the 95% intervals (tuning/stats.py, which the
comparison study uses too).
"""

import numpy as np

from tuning import stats

TEST = "paired t-test across repeats"
CORRECTION = "Holm-Bonferroni"


def label(row):
    """`trial 07 (learned α per channel from 0.01)` for a results row."""
    alpha = f"{row['alpha']:.3g}"
    kind = {
        "relu": "ReLU",
        "fixed": f"fixed α = {alpha}",
        "trainable": f"learned α (one) from {alpha}",
        "channelwise": f"learned α per channel from {alpha}",
        "randomized": f"randomized α, mean {alpha}",
    }.get(row["mode"], f"{row['mode']} α = {alpha}")
    return f"trial {row['trial_id']} ({kind})"


def decide(frame, repeat_columns):
    """The verdict over the finished configurations of a results frame
    (tuning/results.py) whose per-repeat accuracies are `repeat_columns`.
    Returns a JSON-able dict with a `text` entry; None if none finished."""
    done = frame[(frame["status"] == "COMPLETED") & frame[repeat_columns].notna().all(axis=1)]
    if done.empty:
        return None
    done = done.sort_values("val_accuracy", ascending=False, kind="stable")
    runs = {row["trial_id"]: row[repeat_columns].to_numpy(float) for _, row in done.iterrows()}
    best = done.iloc[0]
    mean, std, low, high = stats.interval(runs[best["trial_id"]])
    verdict = {
        "repeats": len(repeat_columns), "test": TEST, "correction": CORRECTION,
        "level": stats.ALPHA, "configurations": len(done),
        "best": {"trial_id": best["trial_id"], "label": label(best), "val_accuracy": mean,
                 "std": std, "low": low, "high": high},
    }
    others = done.iloc[1:]
    verdict["against_best"] = _compare(others, runs, runs[best["trial_id"]])
    relu = done[done["mode"] == "relu"]
    leaky = done[done["mode"] != "relu"]
    if len(relu) and len(leaky):
        against_relu = _compare(leaky, runs, runs[relu.iloc[0]["trial_id"]])
        verdict["against_relu"] = {"relu_trial_id": relu.iloc[0]["trial_id"], "comparisons": against_relu}
    verdict["text"] = describe(verdict)
    return verdict


def _compare(rows, runs, baseline):
    """Each row's paired test against `baseline`, Holm-corrected together."""
    tests = [stats.paired_test(runs[row["trial_id"]], baseline) for _, row in rows.iterrows()]
    adjusted = stats.holm([test["p"] for test in tests])
    return [
        {"trial_id": row["trial_id"], "label": label(row), **test, "p_adjusted": float(p)}
        for (_, row), test, p in zip(rows.iterrows(), tests, adjusted)
    ]


def beyond_noise(comparison):
    return bool(comparison["p_adjusted"] < stats.ALPHA)  # NaN compares False


def describe(verdict):
    """The verdict in plain words, a few lines."""
    k, best = verdict["repeats"], verdict["best"]
    if k < 2:
        return (
            f"Verdict: {best['label']} scored highest, but with one run per configuration "
            "(--repeats 1) nothing tells it from luck. Rerun with --repeats 3 or more for "
            "intervals and tests."
        )
    lines = [
        f"Best: {best['label']}, val_accuracy {_points(best['val_accuracy'])}% ± "
        f"{_points(best['high'] - best['val_accuracy'])} (95% CI over {k} repeats)."
    ]
    against = verdict["against_best"]
    if against:
        tied = [c for c in against if not beyond_noise(c)]
        worse = [c for c in against if beyond_noise(c)]
        lines.append(
            f"{len(tied)} of the other {len(against)} finished configurations cannot be told "
            f"from it ({TEST}, {CORRECTION}-corrected over {len(against)} comparisons, "
            f"p >= {stats.ALPHA:g})" + (f": {_trials(tied)}." if tied else ".")
        )
        if worse:
            lines.append(f"Below it beyond noise: {_trials(worse)}.")
    if "against_relu" in verdict:
        lines.append(_relu_sentence(verdict["against_relu"]["comparisons"], k))
    return "\n".join(lines)


def _relu_sentence(comparisons, k):
    best = comparisons[0]  # rows come best first
    numbers = (
        f"{_signed(best['difference'])} points, 95% CI [{_signed(best['low'])}, "
        f"{_signed(best['high'])}], p = {_p(best['p'])}; {CORRECTION} over "
        f"{len(comparisons)} leaky configurations: p = {_p(best['p_adjusted'])}"
    )
    winners = [c for c in comparisons if beyond_noise(c) and c["difference"] > 0]
    losers = [c for c in comparisons if beyond_noise(c) and c["difference"] < 0]
    if winners and winners[0] is best:
        sentence = f"Against ReLU: {best['label']} beats ReLU by {numbers}."
        if len(winners) > 1:
            sentence += f" Also above ReLU beyond noise: {_trials(winners[1:])}."
    elif winners:
        sentence = (
            f"Against ReLU: above ReLU beyond noise: {_trials(winners)}; the best leaky one by "
            f"mean, {best['label']}, differs by {numbers}."
        )
    else:
        which = "beats" if losers else "differs from"
        sentence = (
            f"Against ReLU: no configuration {which} ReLU beyond noise at K = {k}; the best "
            f"leaky one, {best['label']}, differs by {numbers}."
        )
    if losers:
        sentence += f" Below ReLU beyond noise: {_trials(losers)}."
    return sentence


def _trials(comparisons):
    return ("trial " if len(comparisons) == 1 else "trials ") + ", ".join(c["trial_id"] for c in comparisons)


def _points(value):
    return f"{100 * value:.1f}"


def _signed(value):
    return f"{100 * value:+.1f}"


def _p(value):
    return "n/a (no spread across repeats)" if np.isnan(value) else f"{value:.3g}"
