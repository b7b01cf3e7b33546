"""The comparison study and the dying-ReLU experiment, with smoke budgets."""

import numpy as np
import pandas as pd
import pytest

from conftest import assert_one_error_line
from conftest import cli
from conftest import cli_in_process
from conftest import ok
from tuning.studies import dying

pytestmark = pytest.mark.slow


def test_compare_writes_table_markdown_and_plot(tmp_path):
    stdout = ok(cli(["compare", "--dataset", "digits", "--seeds", "2", "--epochs", "1", "--out", "cmp", "--quiet"], tmp_path))
    frame = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert len(frame) == 6 * 2
    assert {"activation", "seed", "train_error", "test_error", "inactive_fraction", "learned_alpha", "seconds"} <= set(frame.columns)
    assert set(frame["activation"]) == {
        "ReLU", "Leaky ReLU 0.01", "Leaky ReLU 1/5.5", "PReLU (per channel, 0.25)", "RReLU U(1/8, 1/3)", "ELU",
    }
    assert frame["test_error"].between(0, 1).all()
    assert frame.loc[frame["activation"] == "PReLU (per channel, 0.25)", "learned_alpha"].notna().all()
    report = (tmp_path / "cmp" / "compare.md").read_text()
    assert "python -m tuning compare --dataset digits" in report
    assert "| ReLU |" in report and " ± " in report
    assert "Leaky ReLU 1/5.5 vs Leaky ReLU 0.01" in report and "seed noise" in report
    assert report.strip() in stdout
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    curves = pd.read_csv(tmp_path / "cmp" / "compare_curves.csv")
    assert len(curves) == 12 and set(curves["epoch"]) == {1}


def test_dying_writes_collapse_fractions(tmp_path):
    ok(cli(["dying", "--depth", "4", "--width", "2,3", "--runs", "4", "--steps", "20", "--slopes", "0,0.1", "--out", "dy"], tmp_path))
    frame = pd.read_csv(tmp_path / "dy" / "dying.csv")
    assert list(zip(frame["width"], frame["activation"])) == [
        (2, "ReLU"), (2, "Leaky ReLU 0.1"), (3, "ReLU"), (3, "Leaky ReLU 0.1"),
    ]
    assert frame["collapsed_after_training"].between(0, 1).all()
    assert "| width | activation | collapsed at init |" in (tmp_path / "dy" / "dying.md").read_text()


def test_a_network_with_a_dead_layer_reads_collapsed_and_a_live_one_not():
    model = dying.build(depth=3, width=2, runs=2, slope=0.0, seed=0)
    x = np.linspace(-1.7, 1.7, 64, dtype="float32")[:, None]
    dense = [layer for layer in model.layers if type(layer).__name__ == "EinsumDense"]
    for index, layer in enumerate(dense):
        kernel, bias = layer.get_weights()
        kernel[0], bias[0] = 1.0, 5.0 if index == 0 else 0.0  # run 0: on everywhere, follows x
        layer.set_weights([kernel, bias])
    kernel, bias = dense[0].get_weights()
    kernel[1], bias[1] = 0.0, -1.0  # run 1: every first-layer unit is off everywhere
    dense[0].set_weights([kernel, bias])
    assert dying.collapsed(model, x, target_std=0.5).tolist() == [False, True]


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--seeds", "0"], r"error: --seeds must be at least 1, got 0"),
        (["compare", "--dataset", "nope"], r"error: unknown dataset 'nope'"),
        (["dying", "--width", "three"], r"error: --width takes comma-separated numbers, got 'three'"),
        (["dying", "--slopes", "0,-0.1"], r"error: --width must be >= 1 and --slopes >= 0"),
        (["dying", "--runs", "0"], r"error: --runs must be at least 1, got 0"),
    ],
)
def test_bad_study_input_is_one_error_line(tmp_path, args, message, capsys):
    assert_one_error_line(cli_in_process(args, tmp_path, capsys), message)
    assert not (tmp_path / "results").exists()
