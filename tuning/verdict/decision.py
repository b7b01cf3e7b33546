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

from fractions import Fraction

import numpy as np

from tuning.errors import UsageError
from tuning.verdict import stats
from tuning.verdict.rows import check_unique
from tuning.verdict.rows import finished
from tuning.verdict.rows import images
from tuning.verdict.rows import label
from tuning.verdict.rows import present
from tuning.verdict.rows import records
from tuning.verdict.rows import search_family
from tuning.verdict.rows import validation_size
from tuning.verdict.terms import ASSUMPTION
from tuning.verdict.terms import BASELINE_MODE
from tuning.verdict.terms import CONFIRM
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import CORRECTION
from tuning.verdict.terms import MARGIN_POINTS
from tuning.verdict.terms import TEST
from tuning.verdict.terms import repeat_columns
from tuning.verdict.wording import verdict_text


def decide(
    frame,
    k,
    margin_points=MARGIN_POINTS,
    confirm=0,
    level=None,
    looks=None,
    family=None,
    equivalence_level=None,
):
    """The verdict over a results frame (tuning/search/results.py) with `k` search
    repeats and `confirm` confirmation repeats per configuration, at
    `margin_points` accuracy points, at family-wise `level` for better or worse and
    `equivalence_level` for equivalent (default 5% each; stats.sign_flip);
    `looks`, the rounds of each claim in a sequential plan
    (`{"difference": [...], "equivalence": [...]}`,
    tuning/verdict/sequential.py), name this look's place in it; `family`,
    the comparisons against ReLU that
    Bonferroni counts (default: what the rows give, `search_family` on the
    search's repeats). tuning/verdict/recorded.py reads all of these from
    the table. Returns a JSON-able dict with a `text` entry; None if no
    configuration finished.

    Raises:
        UsageError: a trial id is in two rows, the frame's validation size
            is missing, an accuracy is not a whole number of validation
            images, or `family` is smaller than the comparisons it counts.
    """
    check_unique(frame)
    done = finished(frame, k)
    if done.empty:
        return None
    level = Fraction(str(stats.LEVEL if level is None else level))
    equivalence_level = level if equivalence_level is None else Fraction(str(equivalence_level))
    size = validation_size(done)
    margin_images = margin_points / 100 * size
    rows = {row["trial_id"]: row for row in records(done)}
    runs = {trial_id: images(row, repeat_columns(k), size) for trial_id, row in rows.items()}
    best = done.iloc[0]
    mean, std, low, high = stats.interval(np.asarray(runs[best["trial_id"]]) / size)
    verdict = {
        "repeats": k,
        "confirm": confirm,
        "test": TEST,
        "correction": CORRECTION,
        "assumption": ASSUMPTION,
        "level": float(level),
        "equivalence_level": float(equivalence_level),
        "looks": {claim: sorted(looks[claim]) for claim in looks} if looks else None,
        "look": (confirm or k) if looks else None,
        "margin_points": margin_points,
        "margin_images": stats.whole_margin(margin_images),
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
            for row in records(frame[frame["status"] == "PRUNED"])
        ],
        "left_out": _left_out(frame, k),
        "against_best": _family(
            [rows[t] for t in list(rows)[1:]],
            runs,
            runs[best["trial_id"]],
            margin_images,
            size,
            # A sequential confirmation looks at its own rounds; the search's repeats are looked at once.
            *((Fraction(str(stats.LEVEL)),) * 2 if confirm else (level, equivalence_level)),
        )
        if k > 1
        else None,
    }
    relu = done[done["mode"] == BASELINE_MODE]["trial_id"].tolist()[:1]
    leaky = [t for t in rows if rows[t]["mode"] != BASELINE_MODE]
    if relu and leaky:
        verdict["against_relu"] = _against_relu(
            frame,
            rows,
            runs,
            relu[0],
            leaky,
            k,
            confirm,
            margin_images,
            size,
            (level, equivalence_level),
            family,
        )
        first = verdict["against_relu"]["comparisons"][0]
        verdict["decision"] = first["decision"] if first else None
    else:
        verdict["decision"] = None
        verdict["no_decision"] = _why_no_comparison(frame, relu, leaky, k)
    verdict["text"] = verdict_text(verdict)
    return verdict


def _against_relu(frame, rows, runs, relu, leaky, k, confirm, margin_images, size, levels, family):
    """The leaky configurations against ReLU: the confirmed ones on their
    confirmation repeats if ReLU and the best leaky one have them all, else
    every finished one on the search repeats."""
    columns = repeat_columns(confirm, CONFIRM)
    confirmed = []
    if confirm and set(columns) <= set(frame.columns):
        complete = {r["trial_id"] for r in rows.values() if all(present(r.get(c)) for c in columns)}
        # The best leaky one must be among them: a resumed search may have a new best, not yet confirmed.
        if relu in complete and leaky[0] in complete:
            confirmed = [t for t in leaky[:CONFIRMED_LEAKY] if t in complete]
    if confirmed:
        fresh = {t: images(rows[t], columns, size) for t in [*confirmed, relu]}
        chosen, on, pairs, tests = confirmed, "confirmation", fresh, len(confirmed)
    else:
        chosen, on, pairs, tests = leaky, "search", runs, max(search_family(frame), len(leaky))
    if on == "search" and k < 2:
        return {"relu_trial_id": relu, "on": on, "comparisons": [None]}
    if family is not None:
        if family < len(chosen):
            raise UsageError(
                f"the results table's verdict_family is {family}, but its rows give {len(chosen)} "
                "comparisons against ReLU: the table was edited after the search wrote it"
            )
        tests = family
    comparisons = _family([rows[t] for t in chosen], pairs, pairs[relu], margin_images, size, *levels, tests)
    return {"relu_trial_id": relu, "on": on, "tests": tests, "comparisons": comparisons}


def _family(rows, runs, baseline, margin_images, size, level, equivalence_level, tests=None):
    """Each row's sign-flip test against `baseline` at family-wise `level`
    (better or worse) and `equivalence_level`, Bonferroni over `tests`
    comparisons (default: the rows)."""
    tests = tests or len(rows)
    found = []
    for row in rows:
        differences = np.asarray(runs[row["trial_id"]]) - np.asarray(baseline)
        test = stats.sign_flip(differences, tests, level, margin_images, equivalence_level)
        points = {
            key: 100 * test[key] / size
            for key in ("difference", "low", "high", "equivalence_low", "equivalence_high")
        }
        settle = stats.pairs_to_settle(differences, margin_images, tests=tests)
        found.append(
            {
                "trial_id": row["trial_id"],
                "label": label(row),
                **test,
                **points,
                "level": float(level),  # the family's, which this comparison is one of
                "equivalence_level": float(equivalence_level),
                "spread": 100 * float(np.std(differences, ddof=1)) / size if len(differences) > 1 else None,
                "fewest_repeats": stats.fewest_pairs(tests),
                "repeats_to_settle": settle,
            }
        )
    return found


def _left_out(frame, k):
    """The COMPLETED rows that lack a value in one of their `k` repeat
    columns, each with the first empty column: the verdict names them."""
    columns = [c for c in repeat_columns(k) if c in frame.columns]
    found = []
    for row in records(frame[frame["status"] == "COMPLETED"]):
        empty = [c for c in repeat_columns(k) if c not in columns or not present(row.get(c))]
        if empty:
            found.append({"trial_id": row["trial_id"], "label": label(row), "reason": f"{empty[0]} is empty"})
    return found


def _why_no_comparison(frame, relu, leaky, k):
    """Why nothing is compared against ReLU, in one sentence."""
    if not relu:
        baseline = frame[frame["mode"] == BASELINE_MODE]
        if baseline.empty:
            return "the search has no ReLU configuration (--modes without relu), so there is no reference"
        row = baseline.iloc[0]
        return (
            f"ReLU, the reference ({label(row)}), did not finish all {k} repeats "
            f"(status {row['status']}); nothing is compared against it"
        )
    return f"no leaky configuration finished all {k} repeats"


def is_decided(verdict):
    """Whether a verdict (or None) decides against ReLU: better, worse or equivalent."""
    return bool(verdict) and verdict.get("decision") in ("better", "worse", "equivalent")
