"""The benchmark scripts run end to end (tiny sizes); they assert no times."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SUBPROCESS_ENV

BENCHMARKS = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks")
pytestmark = pytest.mark.slow


def _run(scripts, results, backend):
    """Runs each `(script, args)` of benchmarks/ as a program (`__main__`),
    one after another in one new interpreter under `backend` (one start of
    its framework for all); returns their stdout."""
    code = (
        "import runpy, sys\n"
        f"sys.path.insert(0, {BENCHMARKS!r})\n"
        f"for script, args in {[(os.path.join(BENCHMARKS, script), args) for script, args in scripts]!r}:\n"
        "    sys.argv = [script, *args]\n"
        "    runpy.run_path(script, run_name='__main__')\n"
    )
    env = dict(SUBPROCESS_ENV, KERAS_LRELU_BENCH_RESULTS=str(results), KERAS_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def run_here(tmp_path, monkeypatch, capsys):
    """Runs a benchmark script's main(ARGS) in this process (TensorFlow, as
    the suite runs; no TensorFlow import each), its CSV going to tmp_path;
    returns its stdout."""
    monkeypatch.syspath_prepend(BENCHMARKS)
    import common

    monkeypatch.setattr(common, "RESULTS_DIR", str(tmp_path))

    def run(script, args):
        importlib.import_module(script.removesuffix(".py")).main(args)
        return capsys.readouterr().out

    return run


def test_layer_speed_compares_every_layer_in_both_modes(tmp_path, run_here):
    # One round: the paired ratio is then the ratio of the two times.
    stdout = run_here("layer_speed.py", ["--sizes", "2x6x6x3,8x5", "--repeats", "1"])
    table = pd.read_csv(tmp_path / "layer_speed.csv")
    assert len(table) == 2 * 2 * 9
    assert set(table["mode"]) == {"graph", "xla"}
    assert set(table["layer"]) >= {"keras PReLU channel", "channelwise", "randomized"}
    for _, group in table.groupby(["shape", "mode"]):
        base = group.loc[group["layer"] == "keras LeakyReLU", "median_ms"].item()
        pd.testing.assert_series_equal(group["vs_LeakyReLU"], group["median_ms"] / base, check_names=False)
    assert "Keras's default jit_compile='auto' runs graph here" in stdout  # no GPU in CI
    assert "| shape | mode | layer |" in stdout


def test_cnn_step_times_both_modes_and_peak_memory(tmp_path, run_here):
    args = [
        "--steps",
        "5",
        "--batch-size",
        "8",
        "--memory-batch-size",
        "16",
        "--rectifiers",
        "channelwise",
        "--memory-modes",
        "graph",
        "--memory-runs",
        "1",
    ]
    stdout = run_here("cnn_step.py", args)  # the peak memory still in a fresh process each
    table = pd.read_csv(tmp_path / "cnn_step.csv")
    assert sorted(zip(table["mode"], table["rectifier"])) == sorted(
        (mode, name)
        for mode in ("graph", "xla")
        for name in ("keras LeakyReLU", "keras PReLU channel", "channelwise")
    )
    for mode, group in table.groupby("mode"):
        rows = group.set_index("rectifier")
        assert rows.loc["channelwise", "vs_LeakyReLU"] == pytest.approx(
            rows.loc["channelwise", "step_ms"] / rows.loc["keras LeakyReLU", "step_ms"]
        )
        if mode == "graph":
            assert rows.loc["channelwise", "peak_vs_PReLU"] == pytest.approx(
                rows.loc["channelwise", "peak_MB"] / rows.loc["keras PReLU channel", "peak_MB"]
            )
            assert (rows["peak_MB"] > 100).all()  # a TensorFlow process, measured
        else:
            assert rows["peak_MB"].isna().all()  # not asked for
    assert "Keras's default jit_compile='auto' runs graph here" in stdout


def test_layer_and_cnn_benchmarks_run_under_pytorch(tmp_path):
    """Under KERAS_BACKEND=torch: one mode, eager; rows and file names say so."""
    stdout = _run(
        [
            ("layer_speed.py", ["--sizes", "2x6x6x3", "--repeats", "1"]),
            (
                "cnn_step.py",
                [
                    "--steps",
                    "5",
                    "--batch-size",
                    "8",
                    "--rectifiers",
                    "channelwise,randomized",
                    "--memory-modes",
                    "none",
                ],
            ),
        ],
        tmp_path,
        backend="torch",
    )
    layers = pd.read_csv(tmp_path / "layer_speed_torch.csv")
    assert set(layers["backend"]) == {"torch"} and set(layers["mode"]) == {"eager"} and len(layers) == 9
    steps = pd.read_csv(tmp_path / "cnn_step_torch.csv")
    assert set(steps["backend"]) == {"torch"} and set(steps["mode"]) == {"eager"}
    assert set(steps["rectifier"]) == {"keras LeakyReLU", "keras PReLU channel", "channelwise", "randomized"}
    assert "Keras backend torch 2.13.0" in stdout and "runs eager here" in stdout


def test_ratios_are_paired_round_by_round(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    from common import paired_ratio

    # The second round ran while the machine was slow for both; the third
    # was slow for the baseline alone. Round by round: 2, 2, 0.5.
    ours, baseline = np.array([10.0, 40.0, 12.0]), np.array([5.0, 20.0, 24.0])
    assert paired_ratio(ours, baseline) == 2.0
    assert np.median(ours) / np.median(baseline) == 0.6


def test_serving_times_savedmodel_against_keras(tmp_path, run_here):
    run_here("serving.py", ["--repeats", "3"])
    table = pd.read_csv(tmp_path / "serving.csv")
    assert set(table["path"]) == {"SavedModel serve", "keras predict_on_batch", "keras model(x)"}
    assert set(table["batch"]) == {1, 256}


@pytest.mark.tensorflow_only
def test_deploy_times_litert_and_onnx_against_the_builtins(tmp_path, run_here):
    run_here("deploy.py", ["--repeats", "2", "--size", "8"])
    table = pd.read_csv(tmp_path / "deploy.csv")
    assert set(table["runtime"]) == {"LiteRT", "ONNX Runtime", "ONNX Runtime, export_onnx"}
    assert len(table) == 3 * 7
    # Each runtime against the built-in as Keras exports it: export_onnx's rows against Keras's ONNX.
    baseline = {
        "LiteRT": "LiteRT",
        "ONNX Runtime": "ONNX Runtime",
        "ONNX Runtime, export_onnx": "ONNX Runtime",
    }
    for runtime, group in table.groupby("runtime"):
        rows = group.set_index("rectifier")
        builtins = table[table["runtime"] == baseline[runtime]].set_index("rectifier")
        for ours, builtin in (
            ("fixed", "keras LeakyReLU"),
            ("randomized", "keras LeakyReLU"),
            ("trainable", "keras PReLU scalar"),
            ("channelwise", "keras PReLU channel"),
        ):
            assert rows.loc[ours, "replaces"] == builtin
            assert rows.loc[ours, "vs_builtin"] == pytest.approx(
                rows.loc[ours, "median_ms"] / builtins.loc[builtin, "median_ms"]
            )


def test_onnx_nodes_times_every_form_against_leaky_relu(tmp_path, run_here):
    run_here("onnx_nodes.py", ["--repeats", "1", "--shape", "1,4,3,3"])  # each form checked first
    table = pd.read_csv(tmp_path / "onnx_nodes.csv").set_index("form")
    assert list(table.index) == [
        "LeakyRelu (one slope)",
        "PRelu (per channel)",
        "five nodes (per channel)",
        "Max(x, alpha*x) (per channel)",
    ]
    assert table["vs_LeakyRelu"].tolist() == pytest.approx(
        (table["median_ms"] / table.loc["LeakyRelu (one slope)", "median_ms"]).tolist()
    )


def test_search_memory_samples_every_trial_of_both_searches(tmp_path, run_here):
    stdout = run_here(
        "search_memory.py", ["--dataset", "digits", "--max-trials", "2", "--trials-per-process", "0"]
    )
    table = pd.read_csv(tmp_path / "search_memory.csv")
    assert table["search"].tolist() == ["keras ReLU only", "keras_lrelu modes"]
    assert (table["trial_1_MB"] > 100).all(), "a TensorFlow process's memory, read from /proc"
    curve = pd.read_csv(tmp_path / "search_memory_curve.csv")
    assert curve.groupby("search")["trial"].apply(list).to_dict() == dict.fromkeys(table["search"], [1, 2])
    assert curve["network"].str.fullmatch(r"\w+ \d+").all()  # mode and width, from the progress line
    peaks = curve.set_index(["search", "trial"])["peak_MB"]
    assert table["trial_2_MB"].tolist() == [peaks[name, 2] for name in table["search"]]
    assert (table["spread_MB"] == 0).all()  # one trial after the first
    assert "| search | trials_per_process |" in stdout


def test_search_memory_growth_compares_trials_of_one_network(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    from search_memory import growth_per_trial

    # A wider network peaks higher: that is not growth. Each network against itself:
    # fixed 16 from 1000 to 1030 over 4 trials (7.5 a trial), relu 48 from 1200 to 1220 over 2 (10).
    peaks = {1: 900, 2: 1000, 3: 1200, 4: 1010, 5: 1220, 6: 1030, 7: 1500}
    networks = {1: "fixed 16", 2: "fixed 16", 3: "relu 48", 4: "fixed 16", 5: "relu 48", 6: "fixed 16"}
    networks[7] = "channelwise 32"  # drawn once: no growth to read from it
    assert growth_per_trial(peaks, networks) == pytest.approx((7.5 + 10) / 2)
    assert growth_per_trial({1: 900, 2: 1000}, {1: "fixed 16", 2: "fixed 16"}) == 0.0  # trial 1 left out


def test_search_backends_times_the_demo_grid_on_each_backend(tmp_path, run_here):
    stdout = run_here(
        "search_backends.py",
        ["--backends", "tensorflow,torch", "--max-trials", "2", "--dataset", "digits", "--epochs", "1"],
    )
    table = pd.read_csv(tmp_path / "search_backends.csv").set_index("backend")
    assert table.index.tolist() == ["tensorflow", "torch"] and (table["trials"] == 2).all()
    assert table["trial_s"].tolist() == pytest.approx(
        ((table["first_trial_s"] + table["later_trial_s"]) / 2).tolist()
    )
    assert table.loc["torch", "trial_vs_tensorflow"] == pytest.approx(
        table.loc["torch", "trial_s"] / table.loc["tensorflow", "trial_s"]
    )
    assert (table["command_s"] > table["trial_s"] * 2).all()  # imports and the export besides the trials
    assert "the demo's grid on digits, 2 trials x 1 repeat(s) x 1 epochs" in stdout


def test_time_to_decision_runs_each_way_on_each_grid_from_the_same_seeds(tmp_path, run_here):
    args = ["--grids", "differing", "--ways", "fast,race", "--dataset", "digits", "--epochs", "1"]
    stdout = run_here("time_to_decision.py", [*args, "--max-trials", "4", "--ceiling", "3"])
    table = pd.read_csv(tmp_path / "time_to_decision.csv").set_index("way")
    assert table.index.tolist() == ["fast", "race"] and set(table["grid"]) == {"differing"}
    assert table.loc["fast", "options"] == "--repeats 1 --confirm auto:3"
    assert table.loc["race", "options"] == "--prune race --repeats 3 --confirm auto:3"
    assert set(table["source"]) == {"this tree"}
    # Four configurations, one run each, then the best leaky one and ReLU three rounds (one look, at 3).
    assert table.loc["fast", "runs"] == 4 + 2 * 3 and table.loc["fast", "pairs"] == 3
    assert table.loc["fast", "dropped"] == "0"  # no race
    assert table.loc["race", "time_vs_first"] == pytest.approx(
        table.loc["race", "wall_s"] / table.loc["fast", "wall_s"]
    )
    assert table.loc["fast", "same_decision"] and "written: " in stdout


def test_verdict_calibration_writes_the_settings_and_the_edges(tmp_path, run_here):
    stdout = run_here("verdict_calibration.py", ["--searches", "3", "--leaky", "2"])
    settings = pd.read_csv(tmp_path / "verdict_calibration.csv")
    assert len(settings) == 9 and set(settings["searches"]) == {3}
    edges = pd.read_csv(tmp_path / "verdict_edges.csv")
    bounded = edges[edges["bound"].notna()]
    assert {"some equal configuration dropped", "equivalent at a gap of the margin"} <= set(bounded["event"])
    runs = edges[edges["event"] == "runs, all equal, mean"].set_index("case")["rate"]
    assert len(runs) == 4  # the plan's ceiling keeping a third or a half, at two noises
    # 11 runs choose the candidate (one per configuration), then two a round, the first look at 5 (or 6).
    assert runs.between(11 + 2 * 5, 11 + 2 * 10).all()
    repeats = edges[edges["case"].str.startswith("fast way with --repeats 3")]
    assert (repeats[repeats["event"].str.startswith("runs")]["rate"] >= 33 + 2 * 5).all()
    assert "written: " in stdout
