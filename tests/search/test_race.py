"""`--prune race` and `auto:K`: the plan of looks, the error rates of the
sequential verdict and of the race's drops (simulated with the verdict's and
the pruner's own code, tuning/search/calibration.py), the options' errors,
and a real race on disk that stops once decided."""

import math
import os
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line
from conftest import cli_in_process
from conftest import ok

from tuning.search import calibration
from tuning.search import records
from tuning.search.pruners.race import MIN_REPEATS
from tuning.search.pruners.race import RacePruner
from tuning.verdict import sequential

SEARCHES = 200
BOUND = 0.05 + 2 * math.sqrt(0.05 * 0.95 / SEARCHES)
LEAKY = 6


def test_the_plan_spends_each_claims_level_where_a_look_can_decide_and_keeps_a_third_for_the_last():
    looks = sequential.plan(10, 1)
    # One comparison: equivalence (one side at a_n) decides from 5 pairs, a difference (two sides) from 6.
    assert looks == {
        "equivalence": {5: Fraction(1, 32), 10: Fraction(3, 160)},
        "difference": {6: Fraction(1, 32), 10: Fraction(3, 160)},
    }
    assert sequential.levels_at(looks, 5) == (0, Fraction(1, 32)) and sequential.levels_at(looks, 7) == (0, 0)
    assert sequential.rounds(looks) == [5, 6, 10] and sequential.next_look(looks, 6) == 10
    assert sequential.plan(10, 2)["difference"] == {7: Fraction(1, 32), 10: Fraction(3, 160)}
    assert sequential.plan(4, 1) == {"equivalence": {}, "difference": {}}  # 4 pairs decide nothing at 5%
    assert sequential.plan(10, 10)["difference"] == {10: Fraction(1, 20)}
    for ceiling in (6, 7, 8, 10, 16, 17, 20, 22, 40, 100):
        for tests in (1, 2, 6, 10, 100):
            for claim, spent in sequential.plan(ceiling, tests).items():
                assert not spent or sum(spent.values()) == Fraction(1, 20), (ceiling, tests)
                # Every planned look can decide, past 16 pairs too (the test's resolution stops at 2^20).
                assert all(level >= sequential.least_level(n, tests, claim) for n, level in spent.items())
                assert not spent or spent[max(spent)] >= Fraction(1, 60)


@pytest.mark.parametrize("on", ["confirm", "race"])
def test_optional_stopping_rarely_decides_falsely(on):
    null = calibration.sequential_decisions(np.random.default_rng(1), [0.0] * LEAKY, 10, SEARCHES, on=on)
    assert calibration.rate(null, {"better", "worse"}) <= BOUND
    at_margin = calibration.sequential_decisions(np.random.default_rng(2), [1.0] * LEAKY, 10, SEARCHES, on=on)
    assert calibration.rate(at_margin, {"equivalent"}) <= BOUND
    # Not an error rate: the power that makes stopping early worth it.
    assert np.mean([bool(s) and s[0] == "equivalent" for s in null]) >= 0.8


def test_the_plan_leaves_the_last_look_enough_to_decide_noisy_runs():
    # Runs 0.5 points apart, all equal: looks after rounds 7, 9 and 10 (each the least share) reached
    # "equivalent" in 37% of these searches; 8 and 10 (the ceiling keeping over half) reach it in 77%.
    found = calibration.sequential_decisions(
        np.random.default_rng(1), [0.0] * LEAKY, 10, SEARCHES, on="confirm", run_points=0.5
    )
    assert np.mean([bool(s) and s[0] == "equivalent" for s in found]) >= 0.65
    assert calibration.rate(found, {"better", "worse"}) <= BOUND


def _curves(counts, size=800):
    return [{"3": value / size} for value in counts]


@pytest.mark.parametrize(
    "ceiling, leaky, size, run_points",
    [(10, LEAKY, 800, 0.28), (3, 10, 800, 0.28), (3, 10, 800, 0.05), (10, 10, 288, 0.28), (5, 2, 288, 0.1)],
)
def test_a_race_rarely_drops_any_configuration_as_good_as_the_leader(ceiling, leaky, size, run_points):
    # Per race, not per configuration. Before (a paired t-test per pair, whose ties of whole images
    # had no spread): some equal configuration was dropped in 13-22% of races at 800 images and
    # 20-38% at 288.
    rng, races = np.random.default_rng(5), 0
    for _ in range(SEARCHES):
        table = calibration.search_table(rng, [0.0] * leaky, ceiling, size=size, run_points=run_points)
        frame = calibration.race_table(table, ceiling, ceiling)
        races += bool((frame["status"] == "PRUNED").any())
    assert races / SEARCHES <= BOUND


def test_a_configuration_three_points_worse_leaves_by_round_three():
    # The race earns its name where configurations differ: three of ten leaky ones 3 points below the
    # rest, the demo's noise, at most 10 rounds; every one of them is gone after round 3 in most races.
    rng, gone = np.random.default_rng(6), 0
    for _ in range(SEARCHES):
        table = calibration.search_table(rng, [-3.0] * 3 + [0.0] * 7, 10)
        frame = calibration.race_table(table, 3, 10)
        gone += (frame["status"].iloc[1:4] == "PRUNED").all()
    assert gone / SEARCHES >= 0.9


def test_three_differences_of_one_image_drop_nothing():
    # Before: no spread, p = 0, dropped. The pooled variance never goes under the rounding's.
    pruner = RacePruner(repeats=5, validation_size=288)
    ours, leader = [250, 251, 249], [251, 252, 250]
    assert pruner.prune(_curves(ours, 288), lambda: [_curves(leader, 288)], 3) is None
    assert RacePruner(repeats=5).prune(_curves(ours, 288), lambda: [_curves(leader, 288)], 3)  # no floor


def test_the_race_drops_a_clearly_worse_configuration_once_it_may():
    pruner = RacePruner(repeats=10, validation_size=800)
    worse, leader = [700, 702, 698], [770, 771, 769]
    assert (
        pruner.prune(_curves(worse[:2]), lambda: [_curves(leader[:2])], 3) is None
    )  # fewer than MIN_REPEATS
    reason = pruner.prune(_curves(worse), lambda: [_curves(leader)], 3)
    assert reason == (
        "0.8750 below the leader's 0.9625 over the same 3 seeds by more than 0.0091 (Tukey's range over "
        "the 2 racing at 0.0063, the race's 5% split over its rounds)"  # 0.05 / 8 rounds
    )
    assert pruner.prune(_curves(leader), lambda: [_curves(worse)], 3) is None  # the leader stays
    assert MIN_REPEATS == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--repeats", "auto:8"],
            r"error: --repeats auto:K adds rounds to a race: use it with --prune race$",
        ),
        (["--repeats", "auto:8", "--prune", "race", "--confirm", "3"], r"error: --repeats auto:K decides on"),
        (
            ["--repeats", "auto:x"],
            r"error: argument --repeats: must be a whole number K or auto:K, got 'auto:x'",
        ),
        (["--confirm", "auto:0.5"], r"error: argument --confirm: must be a whole number K or auto:K"),
        (["--repeats", "auto:200", "--prune", "race"], r"error: --repeats must be"),
    ],
)
def test_bad_sequential_options_are_one_error_line(tmp_path, capsys, args, message):
    assert_one_error_line(cli_in_process(["search", "--dataset", "digits", *args], tmp_path, capsys), message)
    assert not (tmp_path / "runs").exists()


def _recomputed(tmp_path, capsys, project, stdout):
    """`python -m tuning verdict` on the project's results.csv, no option
    retyped, against the verdict the search printed (from Best: to Decision:)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Best: "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Decision: "))
    table = str(tmp_path / "runs" / project / "results.csv")
    again = ok(cli_in_process(["verdict", table], tmp_path, capsys))
    assert again.strip() == "\n".join(lines[start : end + 1])
    return lines[end]


def test_a_race_stops_once_decided_records_its_rounds_and_is_recomputed_from_its_table(tmp_path, capsys):
    args = ["search", "--dataset", "digits", "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3"]
    args += ["--epochs", "1", "--repeats", "auto:8", "--prune", "race", "--trials-per-process", "0"]
    args += ["--export-formats", "saved_model", "--project", "race"]
    stdout = ok(cli_in_process(args, tmp_path, capsys))
    rounds = [line for line in stdout.splitlines() if line.startswith("race round ")]
    assert rounds[0].startswith("race round 2/8: 3 racing")
    frame = pd.read_csv(tmp_path / "runs" / "race" / "results.csv", dtype={"trial_id": str})
    stopped, looks = (
        len(rounds) + 1,
        sequential.plan(8, 2),
    )  # equivalence after rounds 6 and 8, a difference 7, 8
    decided = "decided: " in rounds[-1]
    assert stopped in sequential.rounds(looks) and decided == (stopped < 8)  # early only on a decision
    assert set(frame["repeats"]) == {stopped} == set(frame["verdict_repeats"])
    levels = (frame["verdict_level"].iloc[0], frame["verdict_equivalence_level"].iloc[0])
    assert levels == tuple(float(level) for level in sequential.levels_at(looks, stopped))
    assert set(frame["verdict_looks"]) == {"7 8"} and set(frame["verdict_equivalence_looks"]) == {"6 8"}
    record = records.load(str(tmp_path / "runs" / "race"), frame["trial_id"].iloc[0])
    assert [run["seed"] for run in records.ordered(record)] == [
        records.seed_for(0, j) for j in range(stopped)
    ]
    assert (
        "Sequential (auto): equivalence is looked at after rounds 6, 8 and better or worse after rounds 7, 8"
        in stdout
    )
    decision = _recomputed(tmp_path, capsys, "race", stdout)
    assert decided == (not decision.startswith("Decision: undecided"))


def test_the_fast_way_stops_at_its_first_look_and_is_recomputed_from_its_table(tmp_path, capsys):
    args = ["search", "--dataset", "digits", "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3"]
    args += ["--epochs", "1", "--repeats", "1", "--confirm", "auto:8", "--margin", "10"]
    args += ["--trials-per-process", "0", "--export-formats", "saved_model", "--project", "confirm"]
    stdout = ok(cli_in_process(args, tmp_path, capsys))
    frame = pd.read_csv(tmp_path / "runs" / "confirm" / "results.csv", dtype={"trial_id": str})
    counts = frame[[f"confirm_val_accuracy_{j}" for j in range(1, 9)]].notna().sum(axis=1)
    # The best leaky configuration and ReLU, whole rounds, stopped at the first look (equivalence, round 5).
    assert sorted(counts) == [0, 5, 5] and set(frame["verdict_confirm"]) == {5}
    assert set(frame["margin_points"]) == {10.0} and frame["verdict_level"].iloc[0] == 0
    assert frame["verdict_equivalence_level"].iloc[0] == float(sequential.plan(8, 1)["equivalence"][5])
    assert "on 5 fresh repeats of each" in stdout and "round 5 looks at equivalence at 3.12% only" in stdout
    decision = _recomputed(tmp_path, capsys, "confirm", stdout)  # at the recorded margin, 10 points
    assert decision.startswith("Decision: equivalent")  # why it stopped at round 5 of 8
    what_if = ok(cli_in_process(["verdict", "runs/confirm/results.csv", "--margin", "0.5"], tmp_path, capsys))
    assert what_if.startswith(
        "What if: margin ±0.5 points instead of the search's ±10 points (results.csv's margin_points); "
    )


def test_a_stopped_race_resumes_at_the_run_it_lost(tmp_path, capsys):
    args = ["search", "--dataset", "digits", "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3"]
    args += ["--epochs", "1", "--repeats", "3", "--prune", "race", "--trials-per-process", "0"]
    args += ["--export-formats", "saved_model", "--project", "resume"]
    ok(cli_in_process(args, tmp_path, capsys))
    project = str(tmp_path / "runs" / "resume")
    before = pd.read_csv(os.path.join(project, "results.csv"), dtype={"trial_id": str})
    record = records.load(project, "1")
    del record["repeats"]["2"]  # as if the race had stopped during that run
    records.save(project, "1", record)
    stdout = ok(cli_in_process(args, tmp_path, capsys))
    assert "race round 3/3: 3 racing" in stdout and "race round 2/3" not in stdout  # round 2 was whole
    after = pd.read_csv(os.path.join(project, "results.csv"), dtype={"trial_id": str})
    columns = ["trial_id", "val_accuracy_1", "val_accuracy_2", "val_accuracy_3"]
    assert after[columns].equals(before[columns])  # the lost run again, bit for bit
