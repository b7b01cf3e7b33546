"""The search's verdict on results tables made by hand: its numbers against
tuning/verdict/stats.py's test, its four decisions and their wording, the repeats
it is computed on, and `python -m tuning verdict` on a results.csv."""

import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import SUBPROCESS_ENV
from conftest import assert_one_error_line
from conftest import cli_in_process
from conftest import ok

from tuning import atomic
from tuning import verdict
from tuning.errors import UsageError
from tuning.search import results
from tuning.verdict import sequential
from tuning.verdict import stats

SIZE = 800
BASE = np.array([760, 771, 765, 780, 758, 769, 774])  # ReLU's correct images in 7 repeats


def _frame(runs, statuses=None, confirm=None):
    """A results table: {trial_id: (mode, alpha, [correct images per repeat])},
    with `confirm` {trial_id: [correct images per confirmation repeat]}."""
    rows = []
    for trial_id, (mode, alpha, counts) in runs.items():
        values = np.asarray(counts) / SIZE
        row = {
            "trial_id": trial_id,
            "status": (statuses or {}).get(trial_id, "COMPLETED"),
            "mode": mode,
            "alpha": alpha,
            "val_accuracy": float(np.nanmean(values)),
            "validation_size": SIZE,
        }
        row.update(zip(verdict.repeat_columns(len(values)), values))
        for extra in ((confirm or {}).get(trial_id, ()),):
            row.update(zip(verdict.repeat_columns(len(extra), verdict.CONFIRM), np.asarray(extra) / SIZE))
        rows.append(row)
    return pd.DataFrame(rows)


CLEAR = {  # per-channel alpha beats ReLU in every repeat by about 3 points
    "0": ("relu", 0.0, BASE),
    "1": ("channelwise", 0.1, BASE + [22, 25, 24, 20, 27, 23, 26]),
    "2": ("fixed", 0.01, BASE + [1, -1, 0, 2, -1, 1, 0]),
}


def test_a_clear_difference_is_better_with_its_bonferroni_interval():
    found = verdict.decide(_frame(CLEAR), 7)
    relu = found["against_relu"]
    assert relu["on"] == "search" and relu["tests"] == 2
    first, second = relu["comparisons"]
    expected = stats.sign_flip(CLEAR["1"][2] - BASE, tests=2, margin_images=8)
    assert first["trial_id"] == "1" and first["decision"] == "better" == found["decision"]
    assert first["p"] == pytest.approx(expected["p"]) and first["p_adjusted"] == pytest.approx(
        2 * expected["p"]
    )
    assert (first["low"], first["high"]) == pytest.approx(
        (100 * expected["low"] / SIZE, 100 * expected["high"] / SIZE)
    )
    assert second["trial_id"] == "2" and second["decision"] == "equivalent"
    text = found["text"]
    assert (
        f"  trial 1 (learned α per channel from 0.1): better than ReLU: +{100 * 23.857 / SIZE:.2f} points, "
        f"98.4% CI [+{first['low']:.2f}, +{first['high']:.2f}], p = 0.0156 (Bonferroni: 0.0312)."
    ) in text
    assert "  trial 2 (fixed α = 0.01): equivalent within ±1 point: +0.04 points" in text
    assert "Against ReLU, on the 7 repeats that chose the best (optimistic: --confirm K retests" in text
    assert (
        text.splitlines()[-1]
        == "Decision: better: trial 1 (learned α per channel from 0.1) is better than ReLU beyond noise."
    )
    assert (
        "Against the best, on the 7 repeats that chose it (in its favour; exact sign-flip test across "
        "repeats, Bonferroni over 2, margin ±1 point): below it: trials 2, 0." in text
    )


def test_a_small_difference_is_equivalent_within_the_margin_and_says_it_clears_zero():
    runs = {"0": ("relu", 0.0, BASE), "1": ("fixed", 0.1, BASE + [2, 3, 1, 2, 3, 2, 1])}
    found = verdict.decide(_frame(runs), 7)
    (only,) = found["against_relu"]["comparisons"]
    assert only["decision"] == "equivalent" == found["decision"] and only["low"] > 0
    assert "above ReLU beyond noise but by less than the margin" in found["text"]
    assert found["text"].endswith(
        "Decision: equivalent: the best leaky configuration, trial 1 (fixed α = 0.1), "
        "is within ±1 point of ReLU here."
    )
    assert (
        verdict.decide(_frame(runs), 7, margin_points=0.2)["decision"] == "better"
    )  # 1.6 images: outside 0.2 points


def test_noise_is_undecided_with_what_would_decide_it():
    runs = {"0": ("relu", 0.0, BASE), "1": ("fixed", 0.1, BASE + [12, -9, 10, -11, 13, -8, 9])}
    found = verdict.decide(_frame(runs), 7)
    (only,) = found["against_relu"]["comparisons"]
    assert only["decision"] == "undecided" and only["repeats_to_settle"] > 7
    assert (
        f"about {only['repeats_to_settle']} repeats would settle it at the observed spread" in found["text"]
    )
    assert f"(--confirm {only['repeats_to_settle']}) would decide it." in found["text"]


def test_three_repeats_decide_nothing_and_say_how_many_would():
    runs = {k: (mode, alpha, counts[:3]) for k, (mode, alpha, counts) in CLEAR.items()}
    found = verdict.decide(_frame(runs), 3)
    assert all(c["decision"] == "undecided" for c in found["against_relu"]["comparisons"])
    assert (
        "(3 repeats: no exact test decides anything at 5% with Bonferroni over 2; it needs 6)"
        in found["text"]
    )


def test_the_verdict_against_relu_is_computed_on_the_confirmation_repeats():
    runs = dict(CLEAR, **{"3": ("fixed", 0.3, BASE - 30)})
    fresh = {"0": BASE + 3, "1": BASE + 3 + [1, 0, -1, 2, 0, 1, -2], "2": BASE + 4}  # the winner was lucky
    frame = _frame(runs, confirm=fresh)
    assert verdict.to_confirm(frame, 7) == ["1", "0"]  # the best leaky configuration only, and ReLU
    found = verdict.decide(frame, 7, confirm=7)
    against = found["against_relu"]
    assert against["on"] == "confirmation" and against["tests"] == 1
    assert [c["trial_id"] for c in against["comparisons"]] == ["1"]
    assert found["decision"] == "equivalent"
    assert (
        "Against ReLU, on 7 fresh repeats of each (seeds no choice used; exact sign-flip test across "
        "repeats, one comparison, margin ±1 point):" in found["text"]
    )
    assert "trial 3" not in found["text"].split("Against ReLU")[1]  # not confirmed, not in that family
    half = _frame(runs, confirm={"1": fresh["1"][:7]})  # ReLU's confirmation missing
    assert verdict.decide(half, 7, confirm=7)["against_relu"]["on"] == "search"
    new_best = _frame(runs, confirm={"0": fresh["0"], "2": fresh["2"]})  # the best (1) not yet confirmed
    assert verdict.decide(new_best, 7, confirm=7)["against_relu"]["on"] == "search"


def test_pruned_configurations_are_named_not_tested():
    runs = dict(CLEAR, **{"3": ("fixed", 0.3, list(BASE[:1]) + [np.nan] * 6), "4": ("fixed", 0.5, BASE + 50)})
    found = verdict.decide(_frame(runs, statuses={"3": "PRUNED", "4": "PRUNED"}), 7)
    assert found["configurations"] == 3 and found["best"]["trial_id"] == "1"
    assert "Pruned, not tested: trials 3, 4." in found["text"]
    assert verdict.decide(_frame(runs, statuses={k: "PRUNED" for k in runs}), 7) is None


def test_one_repeat_tests_nothing_and_says_so():
    frame = _frame({"0": ("relu", 0.0, [720]), "1": ("fixed", 0.01, [760])})
    found = verdict.decide(frame, 1)
    assert found["against_best"] is None and found["decision"] is None
    assert "in one run (--repeats 1): one run per configuration cannot tell them from luck." in found["text"]
    assert "Against ReLU: nothing is tested with one run per configuration" in found["text"]


def test_accuracies_that_are_not_whole_images_are_refused():
    frame = _frame(CLEAR)
    frame.loc[1, "val_accuracy_2"] += 0.0003
    with pytest.raises(
        UsageError, match=r"trial 1: val_accuracy_1, .* are not whole numbers of the 800 validation"
    ):
        verdict.decide(frame, 7)
    with pytest.raises(UsageError, match="no validation_size"):
        verdict.decide(_frame(CLEAR).drop(columns="validation_size"), 7)


def test_summary_shows_mean_and_interval_half_width_best_first():
    frame = _frame(CLEAR)
    for trial_id, (_, _, counts) in CLEAR.items():
        index = frame["trial_id"] == trial_id
        _, _, frame.loc[index, "val_accuracy_low"], frame.loc[index, "val_accuracy_high"] = stats.interval(
            counts / SIZE
        )
    for column in set(results.SUMMARY_COLUMNS) - set(frame.columns):
        frame[column] = None
    lines = results.ranked_text(frame).splitlines()
    assert "val_accuracy (95% CI)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "0"]


def _verdict_command(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tuning", "verdict", *args],
        cwd=cwd,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )


# Runs the command line's main() as `python -m tuning` would, then names what it imported.
IMPORTS_AFTER = """
import sys
from tuning.__main__ import main
code = main(sys.argv[1:])
heavy = sorted(name for name in ("tensorflow", "keras", "keras_tuner", "torch", "jax") if name in sys.modules)
print("imported:", ",".join(heavy) or "none", file=sys.stderr)
sys.exit(code)
"""


def test_the_verdict_command_recomputes_from_results_csv_without_tensorflow_or_keras(tmp_path):
    csv = tmp_path / "results.csv"
    atomic.write_csv(_frame(CLEAR), str(csv))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "verdict", str(csv), "--margin", "0.5"],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    with_json = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "verdict", str(csv), "--json", "first.json"],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert with_json.returncode == 0 and with_json.stderr.strip().splitlines()[-1] == "imported: none"
    (tmp_path / "first.json").unlink()
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == verdict.decide(_frame(CLEAR), 7, margin_points=0.5)["text"]
    assert done.stderr.strip().splitlines()[-1] == "imported: none"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # wrote nothing
    assert seconds < 10  # the measured time is in the closing note; this only catches a TensorFlow import
    written = _verdict_command([str(csv), "--json", "v.json"], tmp_path)
    assert written.returncode == 0 and '"decision": "better"' in (tmp_path / "v.json").read_text()
    again = _verdict_command([str(csv), "--json", "v.json", "--margin", "0.5"], tmp_path)
    assert again.returncode == 0 and '"margin_points": 0.5' in (tmp_path / "v.json").read_text()
    # A typo must not overwrite the table, nor any file that is not such a verdict.
    before = csv.read_bytes()
    assert_one_error_line(
        _verdict_command([str(csv), "--json", str(csv)], tmp_path),
        r"error: refusing to overwrite .*results\.csv: it is not a verdict this command wrote$",
    )
    assert csv.read_bytes() == before


@pytest.mark.parametrize(
    "content, message",
    [
        (None, r"error: .*missing\.csv is not a file$"),
        (
            "a,b\n1,2\n",
            r"error: .*bad\.csv is not a search's results\.csv: it has no column trial_id, status, mode, "
            r"alpha, validation_size, val_accuracy_1$",
        ),
        (
            "trial_id,status,mode,alpha,validation_size,val_accuracy_1\n0,COMPLETED,relu,0,800,x\n",
            r"error: .*bad\.csv: column val_accuracy_1 holds something other than numbers$",
        ),
    ],
)
def test_a_bad_results_file_is_one_error_line(tmp_path, content, message):
    name = "missing.csv" if content is None else "bad.csv"
    if content is not None:
        (tmp_path / name).write_text(content)
    assert_one_error_line(_verdict_command([name], tmp_path), message)


def _recorded(frame, k, confirm, levels, looks, margin):
    """`frame` with the verdict's inputs written on every row, as the search writes them."""
    from tuning.verdict import recorded

    return frame.assign(**recorded.columns(k, confirm, levels, looks, margin))


STOPPED = {  # a --confirm auto:10 search: equivalence looked at after rounds 5 and 10, a difference 6 and 10
    "0": BASE + 3,
    "1": BASE + 3 + [1, 0, -1, 2, 0, 1, -2],
    "2": BASE + 4,
}


def _stopped_at(rounds):
    fresh = {
        t: np.concatenate([c, c[:3]])[:rounds].tolist() + [np.nan] * (10 - rounds) for t, c in STOPPED.items()
    }
    frame = _frame(dict(CLEAR, **{"3": ("fixed", 0.3, BASE - 30)}), confirm=fresh)
    looks = sequential.plan(10, verdict.CONFIRMED_LEAKY)
    return _recorded(frame, 7, rounds, sequential.levels_at(looks, rounds), looks, 2.0)


def test_the_command_decides_on_the_look_and_margin_the_table_records(tmp_path, capsys):
    # Before: the command counted the ceiling's 10 confirmation columns, found them incomplete and
    # decided on the search's repeats at the default margin: another decision than the search's.
    frame = _stopped_at(5)
    csv = tmp_path / "results.csv"
    atomic.write_csv(frame, str(csv))
    found = verdict.recompute(frame)
    looks = {"difference": [6, 10], "equivalence": [5, 10]}
    assert found == verdict.decide(frame, 7, 2.0, 5, 0, looks, 1, equivalence_level=Fraction(1, 32))
    assert found["against_relu"]["on"] == "confirmation" and found["decision"] == "equivalent"
    printed = ok(cli_in_process(["verdict", str(csv)], tmp_path, capsys))
    assert printed.strip() == found["text"]
    assert "Against ReLU, on 5 fresh repeats of each" in printed and "margin ±2 points" in printed
    assert "round 5 looks at equivalence at 3.12% only, the intervals below at those levels." in printed
    assert "93.7% CI [-0.12, +0.25] (two one-sided tests)" in printed  # 1/32 a side: the least 5 pairs reach
    assert "Bonferroni over 3, margin ±2 points): " in printed  # at 5%: the search's repeats, looked at once
    assert f"  {verdict.decide(frame, 7)['assumption']}" in printed.splitlines()
    what_if = ok(cli_in_process(["verdict", str(csv), "--margin", "0.1"], tmp_path, capsys)).splitlines()
    assert what_if[0] == (
        "What if: margin ±0.1 points instead of the search's ±2 points (results.csv's margin_points); "
        "without --margin this command prints the search's own verdict."
    )
    assert what_if[-1].startswith("Decision: undecided")  # 0.1 points is under one of 800 images


def test_a_race_stopped_before_its_ceiling_is_recomputed_on_its_last_round(tmp_path, capsys):
    # Before: the command wanted all 10 repeats of a race stopped at round 7, found none and exited 2.
    runs = {t: (mode, alpha, list(c) + [np.nan] * 3) for t, (mode, alpha, c) in CLEAR.items()}
    runs["3"] = ("fixed", 0.3, list(BASE[:3] - 40) + [np.nan] * 7)
    looks = sequential.plan(10, 3)  # equivalence after rounds 7 and 10, a difference 8 and 10
    frame = _recorded(
        _frame(runs, statuses={"3": "PRUNED"}), 7, 0, sequential.levels_at(looks, 7), looks, 1.0
    )
    atomic.write_csv(frame, str(tmp_path / "results.csv"))
    printed = ok(cli_in_process(["verdict", "results.csv"], tmp_path, capsys))
    assert printed.strip() == verdict.recompute(frame)["text"] != verdict.decide(frame, 7)["text"]
    assert "round 7 looks at equivalence at 2.34% only" in printed
    assert "Bonferroni over 3" in printed  # the race's family: every leaky configuration it entered


def test_a_round_off_the_plan_says_so_and_which_round_looks_next():
    text = verdict.recompute(_stopped_at(7))["text"]
    assert "round 7 is not a planned look (the next is after round 10), so nothing is decided on it." in text
    assert "no exact test decides anything" not in text
    assert text.splitlines()[-1].endswith("; round 7 is not a planned look (the next is after round 10).")


def test_rows_that_cannot_be_decided_on_are_named():
    frame = _frame(CLEAR)
    frame.loc[frame["trial_id"] == "1", "val_accuracy_3"] = np.nan  # the best, COMPLETED
    found = verdict.decide(frame, 7)
    assert found["best"]["trial_id"] == "2" and found["left_out"][0]["trial_id"] == "1"
    assert (
        "Left out: trial 1 (val_accuracy_3 is empty); a COMPLETED row without all 7 repeats" in found["text"]
    )
    no_relu = _frame(CLEAR)
    no_relu.loc[no_relu["trial_id"] == "0", "val_accuracy_5"] = np.nan
    found = verdict.decide(no_relu, 7)
    assert found["decision"] is None and found["text"].splitlines()[-1] == (
        "Decision: none: ReLU, the reference (trial 0 (ReLU)), did not finish all 7 repeats (status "
        "COMPLETED); nothing is compared against it."
    )
    leaky_only = _frame({k: v for k, v in CLEAR.items() if k != "0"})
    assert verdict.decide(leaky_only, 7)["text"].splitlines()[-1] == (
        "Decision: none: the search has no ReLU configuration (--modes without relu), so there is no reference."
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda f: pd.concat([f, f.iloc[[1]]]),
            r"error: trial 1 is in 2 rows of the results table; a search writes one row per trial$",
        ),
        (
            lambda f: f.assign(verdict_level=[0.05, 0.01, 0.05, 0.05]),
            r"error: the results table's verdict_level must be one value on every row, got 2 different$",
        ),
        (
            lambda f: f.assign(verdict_repeats=12),
            r"error: the results table's verdict_repeats is 12, but it has",
        ),
        (lambda f: f.assign(verdict_looks="8 x"), r"error: the results table's verdict_looks is not a value"),
        (lambda f: f.assign(margin_points=-1), r"error: the results table's margin_points is not a value"),
        (
            lambda f: f.assign(verdict_family=1),
            r"error: the results table's verdict_family is 1, but its rows",
        ),
    ],
)
def test_a_table_whose_rows_or_records_do_not_fit_is_one_error_line(tmp_path, capsys, edit, message):
    frame = _recorded(_frame(dict(CLEAR, **{"3": ("fixed", 0.3, BASE - 30)})), 7, 0, (0.05, 0.05), None, 1.0)
    atomic.write_csv(edit(frame), str(tmp_path / "results.csv"))
    assert_one_error_line(cli_in_process(["verdict", "results.csv"], tmp_path, capsys), message)
