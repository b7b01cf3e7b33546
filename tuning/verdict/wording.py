"""The verdict in plain words: the lines the search prints under its table."""

import math

from tuning.verdict import stats
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import CORRECTION
from tuning.verdict.terms import TEST

SHOWN = 2  # comparisons against ReLU given a line each; the others are grouped


def verdict_text(verdict):
    """The verdict in plain words, a few lines."""
    k, best = verdict["repeats"], verdict["best"]
    size, margin = verdict["validation_size"], _margin(verdict)
    lines = [_what_if(verdict["what_if"])] if verdict.get("what_if") else []
    lines.append(
        f"Best: {best['label']}, val_accuracy {_points(best['val_accuracy'])}%"
        + (
            f" ± {_points(best['high'] - best['val_accuracy'])} (95% t-interval over {k} training seeds on "
            f"these {size} validation images; the highest of {verdict['configurations']} means, so "
            "flattered by the choice)."
            if k > 1
            else " in one run (--repeats 1): one run per configuration cannot tell them from luck."
        )
    )
    family = verdict["against_best"]
    if family:
        lines.append(
            f"Against the best, on the {k} repeats that chose it (in its favour; {TEST}, "
            f"{_family_text(len(family))}, margin {margin}): "
            + _grouped(family)
            + _too_few(family[0], verdict)
            + "."
        )
    if verdict["pruned"]:
        lines.append(f"Pruned, not tested: {_trials(verdict['pruned'])}.")
    if verdict.get("left_out"):
        named = ", ".join(f"trial {c['trial_id']} ({c['reason']})" for c in verdict["left_out"])
        lines.append(f"Left out: {named}; a COMPLETED row without all {k} repeats is not a finished one.")
    if verdict.get("looks"):
        lines.append(_sequential_line(verdict))
    if "against_relu" in verdict:
        lines += _relu_lines(verdict, margin)
    else:
        lines.append(f"Decision: none: {verdict['no_decision']}.")
    return "\n".join(lines)


def _what_if(what_if):
    return (
        f"What if: margin {margin_text(what_if['margin_points'])} instead of the search's "
        f"{margin_text(what_if['recorded_margin_points'])} (results.csv's margin_points); "
        "without --margin this command prints the search's own verdict."
    )


def _sequential_line(verdict):
    looks, look = verdict["looks"], verdict["look"]
    head = (
        f"Sequential (auto): equivalence is looked at after rounds {_listed(looks['equivalence'])} and "
        f"better or worse after rounds {_listed(looks['difference'])}, each look at its share of that "
        "claim's 5%, so neither false claim passes 5% over all the looks"
    )
    if _off_look(verdict):
        return f"{head}; {_off_plan(verdict)}, so nothing is decided on it."
    claims = [
        f"{name} at {_level(verdict[key])}"
        for name, key in (("better or worse", "level"), ("equivalence", "equivalence_level"))
        if verdict[key]
    ]
    only = "" if len(claims) == 2 else " only"
    return f"{head}; round {look} looks at {' and '.join(claims)}{only}, the intervals below at those levels."


def _listed(rounds):
    return ", ".join(str(n) for n in rounds) or "none"


def _off_plan(verdict):
    """`round 9 is not a planned look (the next is after round 10)`."""
    look, rounds = verdict["look"], sorted(set().union(*verdict["looks"].values()))
    after = next((n for n in rounds if n > look), None)
    return f"round {look} is not a planned look (" + (
        f"the next is after round {after})" if after else f"the last was after round {max(rounds)})"
    )


def _off_look(verdict):
    """Whether this verdict is at a round its sequential plan does not look at."""
    return bool(verdict.get("looks")) and verdict["level"] == 0 and verdict["equivalence_level"] == 0


def _family_text(tests):
    """`Bonferroni over 2`, or `one comparison`."""
    return f"{CORRECTION} over {tests}" if tests > 1 else "one comparison"


def _relu_lines(verdict, margin):
    against, k = verdict["against_relu"], verdict["repeats"]
    comparisons = against["comparisons"]
    if comparisons == [None]:
        return [
            f"Against ReLU: nothing is tested with one run per configuration; rerun with --repeats 3 "
            f"or more, or --confirm {stats.fewest_pairs(CONFIRMED_LEAKY) + 1} to test the best on fresh repeats.",
            "Decision: none: one run per configuration tests nothing.",
        ]
    if against["on"] == "confirmation":
        head = (
            f"Against ReLU, on {comparisons[0]['pairs']} fresh repeats of each (seeds no choice used; "
            f"{TEST}, {_family_text(against['tests'])}, margin {margin}):"
        )
    else:
        head = (
            f"Against ReLU, on the {k} repeats that chose the best (optimistic: --confirm K retests "
            f"the best on fresh repeats; {TEST}, {_family_text(against['tests'])}, margin {margin}):"
        )
    lines = [head] + [f"  {c['label']}: {_outcome(c, verdict)}" for c in comparisons[:SHOWN]]
    if len(comparisons) > SHOWN:
        lines.append("  the others: " + _grouped(comparisons[SHOWN:]) + ".")
    lines.append(f"  {verdict['assumption']}")
    lines.append("Decision: " + _decision(comparisons[0], verdict))
    return lines


def _outcome(c, verdict):
    """`equivalent within ±1 point: +0.20 points, 93.7% CI [...] (two one-sided tests), p = ...`."""
    name = {
        "equivalent": f"equivalent within {_margin(verdict)}",
        "better": "better than ReLU",
        "worse": "worse than ReLU",
        "undecided": "undecided",
    }[c["decision"]]
    equivalence = c["decision"] == "equivalent" or not math.isfinite(c["low"])
    low, high, confidence = (
        (c["equivalence_low"], c["equivalence_high"], c["equivalence_confidence"])
        if equivalence
        else (c["low"], c["high"], c["confidence"])
    )
    if not math.isfinite(low):
        return f"{name}: {_signed(c['difference'])} points{_too_few(c, verdict)}{_settle(c)}."
    text = (
        f"{name}: {_signed(c['difference'])} points, {_percent(confidence)}% CI [{_signed(low)}, {_signed(high)}]"
        + (" (two one-sided tests)" if equivalence else "")
        + f", p = {c['p']:.3g}"
        + (f" ({CORRECTION}: {c['p_adjusted']:.3g})" if c["tests"] > 1 else "")
    )
    if c["decision"] == "equivalent" and (c["low"] > 0 or c["high"] < 0):
        text += f", {'above' if c['low'] > 0 else 'below'} ReLU beyond noise but by less than the margin"
    if c["decision"] == "undecided":
        text += (
            f"; differences under about {(high - low) / 2:.2f} points cannot be told from noise here"
            + _settle(c)
        )
    return text + "."


def _too_few(c, verdict):
    """What unbounded intervals mean, or "" for a bounded one."""
    if math.isfinite(c["low"]) or math.isfinite(c["equivalence_low"]):
        return ""
    if _off_look(verdict):
        return f" ({_off_plan(verdict)})"
    needs = f"it needs {c['fewest_repeats']}" if c["fewest_repeats"] else "no number of repeats can"
    return (
        f" ({c['pairs']} repeats: no exact test decides anything at {_level(c['equivalence_level'])} with "
        f"{_family_text(c['tests'])}; {needs})"
    )


def margin_text(margin_points):
    """`±1 point`, `±0.5 points`."""
    return f"±{margin_points:g} point" + ("" if margin_points == 1 else "s")


def _margin(verdict):
    """The margin in points, and in whole images where they are not the same."""
    points, size, whole = verdict["margin_points"], verdict["validation_size"], verdict["margin_images"]
    if abs(points / 100 * size - whole) < 1e-9:
        return margin_text(points)
    return f"{margin_text(points)} ({whole} whole images of {size})"


def _settle(c):
    if c["repeats_to_settle"] is None:
        return ""
    return (
        f"; about {c['repeats_to_settle']} repeats would settle it at the observed spread "
        f"({c['spread']:.2f} points between paired repeats)"
    )


def _decision(c, verdict):
    margin = _margin(verdict)
    if c["decision"] == "equivalent":
        return f"equivalent: the best leaky configuration, {c['label']}, is within {margin} of ReLU here."
    if c["decision"] in ("better", "worse"):
        return f"{c['decision']}: {c['label']} is {c['decision']} than ReLU beyond noise."
    head = f"undecided: {c['label']} cannot yet be told better, worse or within {margin} of ReLU"
    if _off_look(verdict):
        return f"{head}; {_off_plan(verdict)}."
    if c["repeats_to_settle"]:
        return f"{head}; about {c['repeats_to_settle']} repeats (--confirm {c['repeats_to_settle']}) would decide it."
    if c["fewest_repeats"]:
        return f"{head}; at least {c['fewest_repeats']} repeats are needed."
    return f"{head}."


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


def _percent(fraction):
    """A level or a confidence as a percentage, cut (never rounded up) at
    the first digit that keeps it below 100: 0.984375 is `98.4`."""
    value = 100 * float(fraction)
    for digits in range(1, 8):
        cut = math.floor(value * 10**digits) / 10**digits
        if cut < 100 and cut > 0:
            return f"{cut:.{digits}f}".rstrip("0").rstrip(".")
    return f"{value:.8g}"


def _level(level):
    """`5%`, `1.56%`."""
    return f"{100 * float(level):.3g}%"


def _signed(value):
    return f"{value:+.2f}"
