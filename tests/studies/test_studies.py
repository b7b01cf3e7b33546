"""The comparison study and the dying-ReLU experiment, with smoke budgets."""

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line
from conftest import cli_in_process
from conftest import ok

from tuning import data
from tuning.studies import compare
from tuning.studies import dying
from tuning.verdict import stats

pytestmark = pytest.mark.slow


def test_compare_writes_table_markdown_and_plot(tmp_path, capsys):
    # The command's main() in this process: what it writes is the test, not its process.
    stdout = ok(
        cli_in_process(
            ["compare", "--dataset", "digits", "--seeds", "2", "--epochs", "1", "--out", "cmp", "--quiet"],
            tmp_path,
            capsys,
        )
    )
    frame = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert len(frame) == 6 * 2
    assert {
        "activation",
        "seed",
        "train_error",
        "test_error",
        "inactive_fraction",
        "learned_alpha",
        "seconds",
    } <= set(frame.columns)
    assert set(frame["activation"]) == {
        "ReLU",
        "Leaky ReLU 0.01",
        "Leaky ReLU 1/5.5",
        "PReLU (per channel, 0.25)",
        "RReLU U(1/8, 1/3)",
        "ELU",
    }
    n_test = len(data.load("digits", seed=0).y_test)
    counts = frame["test_error"] * n_test  # errors are whole misclassified test images
    np.testing.assert_allclose(counts, counts.round(), atol=1e-3)  # float32 accuracy
    assert frame.loc[frame["activation"] == "PReLU (per channel, 0.25)", "learned_alpha"].notna().all()
    report = (tmp_path / "cmp" / "compare.md").read_text()
    report_order = list(compare.ACTIVATIONS)
    for name, errors in frame.groupby("activation")["test_error"]:  # the table is the CSV's
        mean, std = 100 * errors.mean(), 100 * errors.std()
        assert f"| {name} | " in report and f" | {mean:.2f} ± {std:.2f} | " in report, name
    assert "python -m tuning compare --dataset digits" in report
    assert set(frame["backend"]) == {"tensorflow"} and "on Keras's tensorflow backend" in report
    assert "| ReLU |" in report and " ± " in report
    assert "Leaky ReLU 1/5.5 vs Leaky ReLU 0.01" in report and "seed noise" in report
    # The six comparisons are one family: each line's adjusted p is Holm's over all six.
    pairs = [(name, "ReLU") for name in report_order if name != "ReLU"] + [
        ("Leaky ReLU 1/5.5", "Leaky ReLU 0.01")
    ]
    raw = [compare.paired_test(frame, name, baseline)[1] for name, baseline in pairs]
    assert "Holm-corrected over the 6 comparisons" in report
    for (name, baseline), p, adjusted in zip(pairs, raw, stats.holm(raw)):
        assert (
            f"- {name} vs {baseline}: " in report
            and f"p = {p:.3f}, Holm-adjusted p = {adjusted:.3f}" in report
        )
    assert report.strip() in stdout
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    curves = pd.read_csv(tmp_path / "cmp" / "compare_curves.csv")
    assert len(curves) == 12 and set(curves["epoch"]) == {1}


def test_dying_writes_collapse_fractions(tmp_path, capsys):
    ok(
        cli_in_process(
            [
                "dying",
                "--depth",
                "4",
                "--width",
                "2,3",
                "--runs",
                "4",
                "--steps",
                "20",
                "--slopes",
                "0,0.1",
                "--out",
                "dy",
            ],
            tmp_path,
            capsys,
        )
    )
    frame = pd.read_csv(tmp_path / "dy" / "dying.csv")
    assert list(zip(frame["width"], frame["activation"])) == [
        (2, "ReLU"),
        (2, "Leaky ReLU 0.1"),
        (3, "ReLU"),
        (3, "Leaky ReLU 0.1"),
    ]
    for column in ("collapsed_at_init", "collapsed_after_training"):  # fractions of 4 runs
        np.testing.assert_allclose(frame[column] * 4, (frame[column] * 4).round(), atol=1e-9)
    report = (tmp_path / "dy" / "dying.md").read_text()
    assert set(frame["backend"]) == {"tensorflow"} and "on Keras's tensorflow backend" in report
    for row in frame.itertuples():
        assert (
            f"| {row.width} | {row.activation} | {100 * row.collapsed_at_init:.0f}% "
            f"| {100 * row.collapsed_after_training:.0f}% | {row.median_mse:.4f} |"
        ) in report
    # The seed comes from the width, not its place in --width: width 3 alone
    # (here in this process) reproduces its rows.
    alone, _ = dying.run(4, [3], [0.0, 0.1], 4, 20, 0, str(tmp_path / "alone"), "alone")
    columns = ["collapsed_at_init", "collapsed_after_training", "median_mse"]
    pd.testing.assert_frame_equal(alone[columns], frame[frame["width"] == 3][columns].reset_index(drop=True))


def test_dying_is_paired_every_slope_starts_from_the_same_networks():
    relu = dying.build(depth=3, width=2, runs=5, slope=0.0, seed=7)
    leaky = dying.build(depth=3, width=2, runs=5, slope=0.1, seed=7)
    other = dying.build(depth=3, width=2, runs=5, slope=0.1, seed=8)
    for a, b, c in zip(relu.get_weights(), leaky.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
        assert a.std() == 0 or not np.array_equal(a, c)  # biases start at 0 for every seed


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
        (["compare", "--seeds", "0"], r"error: --seeds must be between 1 and 1000, got 0$"),
        (["compare", "--dataset", "nope"], r"error: unknown dataset 'nope'"),
        (["dying", "--width", "three"], r"error: argument --width: invalid comma list of int value: 'three'"),
        (["dying", "--slopes", "0,-0.1"], r"error: --slopes must be between 0 and 1, got -0\.1$"),
        (["dying", "--runs", "0"], r"error: --runs must be between 1 and 100000, got 0$"),
    ],
)
def test_bad_study_input_is_one_error_line(tmp_path, args, message, capsys):
    assert_one_error_line(cli_in_process(args, tmp_path, capsys), message)
    assert not (tmp_path / "results").exists()
