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


def test_the_plan_spends_the_level_only_where_a_look_can_decide():
    looks = sequential.plan(10, 2)
    assert looks == {7: Fraction(1, 32), 9: Fraction(1, 128), 10: Fraction(7, 640)}
    assert sum(looks.values()) == Fraction(1, 20)
    assert all(level >= sequential.least_level(n, 2) for n, level in looks.items())
    assert sequential.plan(6, 2) == {}  # 6 pairs cannot decide one of two comparisons at 5%
    assert sequential.plan(10, 10) == {10: Fraction(1, 20)}
    assert sequential.level_at(looks, 8) == 0


@pytest.mark.parametrize("on", ["confirm", "race"])
def test_optional_stopping_rarely_decides_falsely(on):
    null = calibration.sequential_decisions(np.random.default_rng(1), [0.0] * LEAKY, 10, SEARCHES, on=on)
    assert calibration.rate(null, {"better", "worse"}) <= BOUND
    at_margin = calibration.sequential_decisions(np.random.default_rng(2), [1.0] * LEAKY, 10, SEARCHES, on=on)
    assert calibration.rate(at_margin, {"equivalent"}) <= BOUND
    # Not an error rate: the power that makes stopping early worth it.
    assert np.mean([bool(s) and s[0] == "equivalent" for s in null]) >= 0.8


def _curves(counts, size=800):
    return [{"3": value / size} for value in counts]


@pytest.mark.parametrize("ceiling, leaky", [(10, LEAKY), (3, 10)])  # (3, 10): the demo's race
def test_the_race_rarely_drops_a_configuration_as_good_as_the_leader(ceiling, leaky):
    rng, dropped, asked = np.random.default_rng(5), 0, 0
    for _ in range(SEARCHES):
        table = calibration.search_table(rng, [0.0] * leaky, ceiling)
        frame = calibration.race_table(table, ceiling, ceiling)
        dropped += int((frame["status"] == "PRUNED").sum())
        asked += leaky
    assert dropped / asked <= BOUND


def test_the_race_drops_a_clearly_worse_configuration_once_it_may():
    pruner = RacePruner(rounds=10)
    worse, leader = [700, 702, 698], [770, 771, 769]
    assert (
        pruner.prune(_curves(worse[:2]), lambda: [_curves(leader[:2])], 3) is None
    )  # fewer than MIN_REPEATS
    reason = pruner.prune(_curves(worse), lambda: [_curves(leader)], 3)
    assert reason.startswith("0.8750 below the leader's 0.9625 over the same 3 seeds (paired t-test, p = ")
    assert reason.endswith("< 0.0063, Bonferroni over the rounds and rivals)")  # 0.05 / (8 rounds x 1 rival)
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


def test_a_race_stops_once_decided_and_records_its_rounds(tmp_path, capsys):
    args = ["search", "--dataset", "digits", "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3"]
    args += ["--epochs", "1", "--repeats", "auto:8", "--prune", "race", "--trials-per-process", "0"]
    args += ["--export-formats", "saved_model", "--project", "race"]
    stdout = ok(cli_in_process(args, tmp_path, capsys))
    rounds = [line for line in stdout.splitlines() if line.startswith("race round ")]
    assert rounds[0].startswith("race round 2/8: 3 racing")
    frame = pd.read_csv(tmp_path / "runs" / "race" / "results.csv", dtype={"trial_id": str})
    decided = "decided: " in rounds[-1]
    assert decided == (len(rounds) < 7)  # stopped before the ceiling only on a decision
    assert set(frame["repeats"]) == {len(rounds) + 1}
    assert frame["verdict_level"].iloc[0] == float(sequential.plan(8, 2)[len(rounds) + 1])
    record = records.load(str(tmp_path / "runs" / "race"), frame["trial_id"].iloc[0])
    assert [run["seed"] for run in records.ordered(record)] == [
        records.seed_for(0, j) for j in range(len(rounds) + 1)
    ]
    assert "Sequential (auto): the verdict is looked at after rounds 7, 8" in stdout


def test_a_confirmation_stops_once_decided(tmp_path, capsys):
    args = ["search", "--dataset", "digits", "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3"]
    args += ["--epochs", "1", "--repeats", "2", "--confirm", "auto:8", "--trials-per-process", "0"]
    args += ["--export-formats", "saved_model", "--project", "confirm"]
    stdout = ok(cli_in_process(args, tmp_path, capsys))
    frame = pd.read_csv(tmp_path / "runs" / "confirm" / "results.csv", dtype={"trial_id": str})
    counts = frame[[f"confirm_val_accuracy_{j}" for j in range(1, 9)]].notna().sum(axis=1)
    rounds = int(counts.max())
    assert set(counts) <= {0, rounds} and rounds in (7, 8)  # whole rounds, from the first look on
    decision = next(line for line in stdout.splitlines() if line.startswith("Decision: "))
    assert (rounds == 7) <= (
        not decision.startswith("Decision: undecided")
    )  # stopped early only on a decision
    assert frame["verdict_level"].iloc[0] == float(sequential.plan(8, 2)[rounds])
    assert f"on {rounds} fresh repeats of each" in stdout


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
