"""What a results table records about its verdict: the search writes the
inputs of the decision it printed on every row (the verdict_* and
margin_points columns of terms.py), and
`recompute` reads them back, so the search and `python -m tuning verdict`
decide through the same call on the same numbers, whichever way the search
stopped (a sequential look, a race's round, an interrupted run).

A table from before these columns existed is read as it was then: every
repeat and confirmation column counts, at 5% and the default margin (and
equivalence at the table's one level, as the verdict then decided it).
"""

import math
import re
from fractions import Fraction

from tuning.errors import UsageError
from tuning.verdict.decision import decide
from tuning.verdict.terms import CONFIRM
from tuning.verdict.terms import CONFIRM_COLUMN
from tuning.verdict.terms import EQUIVALENCE_LEVEL_COLUMN
from tuning.verdict.terms import EQUIVALENCE_LOOKS_COLUMN
from tuning.verdict.terms import FAMILY_COLUMN
from tuning.verdict.terms import LEVEL_COLUMN
from tuning.verdict.terms import LOOKS_COLUMN
from tuning.verdict.terms import MARGIN_COLUMN
from tuning.verdict.terms import MARGIN_POINTS
from tuning.verdict.terms import REPEATS_COLUMN
from tuning.verdict.terms import SEARCH
from tuning.verdict.wording import verdict_text


def columns(k, confirm, levels, looks, margin_points):
    """The recorded inputs as {column: value}, for every row of the table:
    `levels` is (better-or-worse level, equivalence level), `looks` a
    sequential plan (tuning/verdict/sequential.py) or None (the family is
    added from the verdict once it is decided)."""
    return {
        REPEATS_COLUMN: k,
        CONFIRM_COLUMN: confirm,
        LEVEL_COLUMN: float(levels[0]),
        EQUIVALENCE_LEVEL_COLUMN: float(levels[1]),
        LOOKS_COLUMN: _rounds_text(looks, "difference"),
        EQUIVALENCE_LOOKS_COLUMN: _rounds_text(looks, "equivalence"),
        MARGIN_COLUMN: margin_points,
    }


def _rounds_text(looks, claim):
    return " ".join(str(n) for n in sorted(looks[claim])) if looks else ""


def family(verdict):
    """{FAMILY_COLUMN: the comparisons against ReLU Bonferroni counted}, or {}."""
    tests = ((verdict or {}).get("against_relu") or {}).get("tests")
    return {FAMILY_COLUMN: tests} if tests else {}


def recompute(frame, margin_points=None):
    """The verdict of a results frame from what it records; `margin_points`
    overrides the recorded margin as a what-if, and the verdict
    then says so (`what_if`). None if no configuration finished.

    Raises:
        UsageError: a recorded column is not one value on every row, or not
            a value the search writes; and as `decide`.
    """
    k = _recorded(frame, REPEATS_COLUMN, _whole, 1) or count(frame, SEARCH)
    confirm = _recorded(frame, CONFIRM_COLUMN, _whole, 0)
    confirm = count(frame, CONFIRM) if confirm is None else confirm
    level = _recorded(frame, LEVEL_COLUMN, _fraction, 0)
    equivalence_level = _recorded(frame, EQUIVALENCE_LEVEL_COLUMN, _fraction, 0)
    equivalence_level = level if equivalence_level is None else equivalence_level
    difference_looks = _recorded(frame, LOOKS_COLUMN, _rounds, None)
    equivalence_looks = _recorded(frame, EQUIVALENCE_LOOKS_COLUMN, _rounds, None)
    looks = (
        {"difference": difference_looks or [], "equivalence": equivalence_looks or []}
        if difference_looks or equivalence_looks
        else None
    )
    recorded_margin = _recorded(frame, MARGIN_COLUMN, _points, None)
    tests = _recorded(frame, FAMILY_COLUMN, _whole, 1)
    for name, value, prefix in ((REPEATS_COLUMN, k, SEARCH), (CONFIRM_COLUMN, confirm, CONFIRM)):
        if value > (limit := count(frame, prefix)):
            raise UsageError(f"the results table's {name} is {value}, but it has only {limit} such columns")
    used = (
        margin_points
        if margin_points is not None
        else recorded_margin
        if recorded_margin is not None
        else MARGIN_POINTS
    )
    verdict = decide(frame, k, used, confirm, level, looks, tests, equivalence_level)
    if (
        verdict is not None
        and None not in (margin_points, recorded_margin)
        and margin_points != recorded_margin
    ):
        verdict["what_if"] = {"margin_points": margin_points, "recorded_margin_points": recorded_margin}
        verdict["text"] = verdict_text(verdict)
    return verdict


def count(frame, prefix):
    """K where the table has the columns PREFIX_1 ... PREFIX_K."""
    numbers = {int(m.group(1)) for name in frame.columns if (m := re.fullmatch(rf"{prefix}_(\d+)", name))}
    k = 0
    while k + 1 in numbers:
        k += 1
    return k


def _recorded(frame, name, parse, low):
    """The one value of column `name` on every row, parsed; None if the
    table has no such column (or, for the looks, no plan)."""
    if name not in frame.columns:
        return None
    values = frame[name].drop_duplicates()
    if len(values) != 1:
        raise UsageError(
            f"the results table's {name} must be one value on every row, got {len(values)} different"
        )
    value = values.iloc[0]
    parsed = parse(value)
    if parsed is _BAD or (low is not None and parsed is not None and parsed < low):
        raise UsageError(f"the results table's {name} is not a value the search writes, got {value!r}")
    return parsed


_BAD = object()


def _whole(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _BAD
    return int(number) if math.isfinite(number) and number == int(number) and number <= 10_000 else _BAD


def _fraction(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _BAD
    return Fraction(str(number)) if 0 <= number <= 1 else _BAD


def _points(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _BAD
    return number if 0 < number <= 100 else _BAD


def _rounds(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    parts = str(value).split()
    if not all(part.isdigit() and 0 < int(part) <= 10_000 for part in parts):
        return _BAD
    return [int(part) for part in parts]
