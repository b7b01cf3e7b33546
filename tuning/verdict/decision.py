"""The search's verdict, in numbers and plain words: does a leaky slope
beat ReLU on these images, fall short of it, stay within a margin of it, or
is that undecided, and what would decide it.

Each comparison is the exact sign-flip test of paired differences in whole
validation images (tuning/verdict/stats.py), Bonferroni-corrected over the
comparisons it is tested with, and ends in one of four decisions read off
its interval: equivalent within +-margin if the interval lies inside the
margin, else better or worse if it lies above or below 0, else undecided.

The configuration that won on its repeats is flattered by the choice, so
the answer against ReLU is computed on the confirmation repeats when the
search ran them (`--confirm K`: the two best leaky configurations and ReLU,
trained again from seeds no choice used); without them the verdict says it
is computed on the repeats that chose the winner.

Reads a results table only (no TensorFlow, no Keras), so `python -m tuning
verdict results.csv` recomputes it from the file.
"""

import math

import numpy as np

from tuning.errors import UsageError
from tuning.verdict import stats

TEST = "exact sign-flip test across repeats"
CORRECTION = "Bonferroni"
# A rectifier is worth changing for a point of accuracy; on the demo's 800
# validation images that is 8 images, where paired repeats differ by ~3.
MARGIN_POINTS = 1.0
CONFIRMED_LEAKY = 2  # the best leaky configurations that confirmation retrains
SEARCH, CONFIRM = "val_accuracy", "confirm_val_accuracy"
SIZE_COLUMN = "validation_size"


def repeat_columns(k, metric=SEARCH):
    """`val_accuracy_1` ... `val_accuracy_K`: one column per repeat."""
    return [f"{metric}_{j}" for j in range(1, k + 1)]


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


def finished(frame, k):
    """The configurations that ran all `k` repeats to their end, best mean first."""
    columns = repeat_columns(k)
    if not set(columns) <= set(frame.columns):
        return frame.iloc[0:0]
    done = frame[(frame["status"] == "COMPLETED") & frame[columns].notna().all(axis=1)]
    means = done[columns].astype(float).mean(axis=1)
    return done.assign(_mean=means).sort_values("_mean", ascending=False, kind="stable").drop(columns="_mean")


def to_confirm(frame, k):
    """The trial ids that confirmation retrains: the CONFIRMED_LEAKY best
    finished leaky configurations by mean over their repeats, then ReLU's."""
    done = finished(frame, k)
    leaky = done[done["mode"] != "relu"]["trial_id"].tolist()[:CONFIRMED_LEAKY]
    return leaky + done[done["mode"] == "relu"]["trial_id"].tolist()[:1]


def decide(frame, k, margin=MARGIN_POINTS, confirm=0):
    """The verdict over a results frame (tuning/search/results.py) with `k` search
    repeats and `confirm` confirmation repeats per configuration, at
    `margin` points. Returns a JSON-able dict with a `text` entry; None if
    no configuration finished.

    Raises:
        UsageError: the frame's validation size is missing, or an accuracy
            is not a whole number of validation images.
    """
    done = finished(frame, k)
    if done.empty:
        return None
    size = validation_size(done)
    margin_images = margin / 100 * size
    rows = {row["trial_id"]: row for row in done.to_dict("records")}
    runs = {trial_id: images(row, repeat_columns(k), size) for trial_id, row in rows.items()}
    best = done.iloc[0]
    mean, std, low, high = stats.interval(np.asarray(runs[best["trial_id"]]) / size)
    verdict = {
        "repeats": k,
        "confirm": confirm,
        "test": TEST,
        "correction": CORRECTION,
        "level": stats.LEVEL,
        "margin_points": margin,
        "validation_size": size,
        "configurations": len(done),
        "best": {
            "trial_id": best["trial_id"],
            "label": label(best),
            "val_accuracy": mean,
            "std": std,
            "low": low,
            "high": high,
        },
        "pruned": [
            {"trial_id": row["trial_id"], "label": label(row)}
            for row in frame[frame["status"] == "PRUNED"].to_dict("records")
        ],
        "against_best": _family(
            [rows[t] for t in list(rows)[1:]], runs, runs[best["trial_id"]], margin_images, size
        )
        if k > 1
        else None,
    }
    relu = done[done["mode"] == "relu"]["trial_id"].tolist()[:1]
    leaky = [t for t in rows if rows[t]["mode"] != "relu"]
    if relu and leaky:
        verdict["against_relu"] = _against_relu(
            frame, rows, runs, relu[0], leaky, k, confirm, margin_images, size
        )
        first = verdict["against_relu"]["comparisons"][0]
        verdict["decision"] = first["decision"] if first else None
    verdict["text"] = verdict_text(verdict)
    return verdict


def _against_relu(frame, rows, runs, relu, leaky, k, confirm, margin_images, size):
    """The leaky configurations against ReLU: the confirmed ones on their
    confirmation repeats if ReLU and the best leaky one have them all, else
    every finished one on the search repeats."""
    columns = repeat_columns(confirm, CONFIRM)
    confirmed = []
    if confirm and set(columns) <= set(frame.columns):
        complete = {r["trial_id"] for r in rows.values() if all(_present(r.get(c)) for c in columns)}
        # The best leaky one must be among them: a resumed search may have a new best, not yet confirmed.
        if relu in complete and leaky[0] in complete:
            confirmed = [t for t in leaky[:CONFIRMED_LEAKY] if t in complete]
    if confirmed:
        fresh = {t: images(rows[t], columns, size) for t in [*confirmed, relu]}
        chosen, on, pairs = confirmed, "confirmation", fresh
    else:
        chosen, on, pairs = leaky, "search", runs
    if on == "search" and k < 2:
        return {"relu_trial_id": relu, "on": on, "comparisons": [None]}
    comparisons = _family([rows[t] for t in chosen], pairs, pairs[relu], margin_images, size)
    return {"relu_trial_id": relu, "on": on, "tests": len(chosen), "comparisons": comparisons}


def _family(rows, runs, baseline, margin_images, size):
    """Each row's sign-flip test against `baseline`, Bonferroni over all of them."""
    found = []
    for row in rows:
        differences = np.asarray(runs[row["trial_id"]]) - np.asarray(baseline)
        test = stats.sign_flip(differences, tests=len(rows), margin=margin_images)
        points = {key: 100 * test[key] / size for key in ("difference", "low", "high")}
        settle = stats.pairs_to_settle(differences, margin_images, tests=len(rows))
        found.append(
            {
                "trial_id": row["trial_id"],
                "label": label(row),
                **test,
                **points,
                "spread": 100 * float(np.std(differences, ddof=1)) / size if len(differences) > 1 else None,
                "fewest_repeats": stats.fewest_pairs(len(rows)),
                "repeats_to_settle": settle,
            }
        )
    return found


def validation_size(frame):
    """The one validation size of a frame's rows, or UsageError."""
    if SIZE_COLUMN not in frame.columns or frame[SIZE_COLUMN].isna().any():
        raise UsageError(
            f"the results table has no {SIZE_COLUMN} for every finished trial; it was written "
            "before the verdict counted whole images: rerunning the search command fills it in"
        )
    sizes = set(frame[SIZE_COLUMN].astype(int))
    if len(sizes) != 1 or min(sizes) < 1:
        raise UsageError(
            f"the results table's {SIZE_COLUMN} must be one positive number, got {sorted(sizes)}"
        )
    return sizes.pop()


def images(row, columns, size):
    """A row's accuracies in `columns` as whole numbers of correct images."""
    values = np.asarray([row[c] for c in columns], dtype=float) * size
    counts = np.round(values)
    if (
        not np.isfinite(values).all()
        or (np.abs(values - counts) > 0.01).any()
        or (counts < 0).any()
        or (counts > size).any()
    ):
        raise UsageError(
            f"trial {row['trial_id']}: {', '.join(columns)} are not whole numbers of the "
            f"{size} validation images"
        )
    return counts.astype(np.int64)


def _present(value):
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def verdict_text(verdict):
    """The verdict in plain words, a few lines."""
    k, best, margin = verdict["repeats"], verdict["best"], verdict["margin_points"]
    size = verdict["validation_size"]
    lines = [
        f"Best: {best['label']}, val_accuracy {_points(best['val_accuracy'])}%"
        + (
            f" ± {_points(best['high'] - best['val_accuracy'])} (95% t-interval over {k} training seeds on "
            f"these {size} validation images; the highest of {verdict['configurations']} means, so "
            "flattered by the choice)."
            if k > 1
            else " in one run (--repeats 1): one run per configuration cannot tell them from luck."
        )
    ]
    family = verdict["against_best"]
    if family:
        lines.append(
            f"Against the best, on the {k} repeats that chose it (in its favour; {TEST}, {CORRECTION} over "
            f"{len(family)}, margin {margin_text(margin)}): " + _grouped(family) + _too_few(family[0]) + "."
        )
    if verdict["pruned"]:
        lines.append(f"Pruned, not tested: {_trials(verdict['pruned'])}.")
    if "against_relu" in verdict:
        lines += _relu_lines(verdict["against_relu"], k, margin, verdict["confirm"])
    return "\n".join(lines)


def _relu_lines(against, k, margin, confirm):
    comparisons = against["comparisons"]
    if comparisons == [None]:
        return [
            f"Against ReLU: nothing is tested with one run per configuration; rerun with --repeats 3 "
            f"or more, or --confirm {stats.fewest_pairs(2) + 1} to test the best on fresh repeats."
        ]
    if against["on"] == "confirmation":
        head = (
            f"Against ReLU, on {comparisons[0]['pairs']} fresh repeats of each (seeds no choice used; "
            f"{TEST}, {CORRECTION} over {against['tests']}, margin {margin_text(margin)}):"
        )
    else:
        head = (
            f"Against ReLU, on the {k} repeats that chose the best (optimistic: --confirm K retests "
            f"the best on fresh repeats; {TEST}, {CORRECTION} over {against['tests']}, margin {margin_text(margin)}):"
        )
    lines = [head] + [f"  {c['label']}: {_outcome(c, margin)}" for c in comparisons[:CONFIRMED_LEAKY]]
    if len(comparisons) > CONFIRMED_LEAKY:
        lines.append("  the others: " + _grouped(comparisons[CONFIRMED_LEAKY:]) + ".")
    lines.append("Decision: " + _decision(comparisons[0], margin))
    return lines


def _outcome(c, margin):
    """`equivalent within ±1 point: +0.20 points, 95% CI [...], p = ...`."""
    name = {
        "equivalent": f"equivalent within {margin_text(margin)}",
        "better": "better than ReLU",
        "worse": "worse than ReLU",
        "undecided": "undecided",
    }[c["decision"]]
    if not math.isfinite(c["low"]):
        return f"{name}: {_signed(c['difference'])} points{_too_few(c)}{_settle(c, margin)}."
    text = (
        f"{name}: {_signed(c['difference'])} points, 95% CI [{_signed(c['low'])}, {_signed(c['high'])}], "
        f"p = {c['p']:.3g} ({CORRECTION}: {c['p_adjusted']:.3g})"
    )
    if c["decision"] == "equivalent" and (c["low"] > 0 or c["high"] < 0):
        text += f", {'above' if c['low'] > 0 else 'below'} ReLU beyond noise but by less than the margin"
    if c["decision"] == "undecided":
        text += (
            f"; differences under about {(c['high'] - c['low']) / 2:.2f} points cannot be told from "
            "noise here" + _settle(c, margin)
        )
    return text + "."


def _too_few(c):
    """What an unbounded interval means, or "" for a bounded one."""
    if math.isfinite(c["low"]):
        return ""
    return (
        f" ({c['pairs']} repeats: no exact test decides anything at 5% with {CORRECTION} over "
        f"{c['tests']}; it needs {c['fewest_repeats']})"
    )


def margin_text(margin):
    """`±1 point`, `±0.5 points`."""
    return f"±{margin:g} point" + ("" if margin == 1 else "s")


def _settle(c, margin):
    if c["repeats_to_settle"] is None:
        return ""
    return (
        f"; about {c['repeats_to_settle']} repeats would settle it at the observed spread "
        f"({c['spread']:.2f} points between paired repeats)"
    )


def _decision(c, margin):
    if c["decision"] == "equivalent":
        return f"equivalent: the best leaky configuration, {c['label']}, is within {margin_text(margin)} of ReLU here."
    if c["decision"] in ("better", "worse"):
        return f"{c['decision']}: {c['label']} is {c['decision']} than ReLU beyond noise."
    return (
        f"undecided: {c['label']} cannot yet be told better, worse or within {margin_text(margin)} of ReLU"
        + (
            f"; about {c['repeats_to_settle']} repeats (--confirm {c['repeats_to_settle']}) would decide it."
            if c["repeats_to_settle"]
            else f"; at least {c['fewest_repeats']} repeats are needed."
        )
    )


def _grouped(comparisons):
    """`equivalent within the margin: trials 04, 08; undecided: trial 00`."""
    parts = []
    for decision in stats.DECISIONS:
        chosen = [c for c in comparisons if c["decision"] == decision]
        if chosen:
            name = {"better": "above it", "worse": "below it", "equivalent": "within the margin"}.get(
                decision, decision
            )
            parts.append(f"{name}: {_trials(chosen)}")
    return "; ".join(parts)


def _trials(comparisons):
    return ("trial " if len(comparisons) == 1 else "trials ") + ", ".join(c["trial_id"] for c in comparisons)


def _points(value):
    return f"{100 * value:.1f}"


def _signed(value):
    return f"{value:+.2f}"
