"""The verdict in plain words: the lines the search prints under its table."""

import math

from tuning.verdict import stats
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import CORRECTION
from tuning.verdict.terms import TEST


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
    if verdict.get("looks"):
        lines.append(_sequential_line(verdict))
    if "against_relu" in verdict:
        lines += _relu_lines(verdict["against_relu"], k, margin, verdict["confirm"])
    return "\n".join(lines)


def _sequential_line(verdict):
    looks = ", ".join(str(n) for n in verdict["looks"])
    return (
        f"Sequential (auto): the verdict is looked at after rounds {looks}, each look at its share of the "
        f"5% (this one: {verdict['level']:.3g}), so a false decision at any look stays under 5%; "
        "the intervals below are at this look's level."
    )


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
