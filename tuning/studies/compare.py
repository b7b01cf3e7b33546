"""The rectifier comparison of Xu et al. 2015 (arXiv 1505.00853), on our CNN.

Every activation trains the same architecture from the same seeds; the
tables report mean ± std over seeds and a paired t-test across seeds
against ReLU, so that a difference is called real only if it beats the
seed-to-seed noise.
"""

import os
import time

import keras
import numpy as np
import pandas as pd

import keras_lrelu
from keras_lrelu import _compat as compat
from tuning import atomic
from tuning.search.hypermodel import PROBE_SIZE
from tuning.search.hypermodel import LeakyCNN
from tuning.verdict import stats

ACTIVATIONS = {
    "ReLU": lambda seed: keras.layers.ReLU(),
    "Leaky ReLU 0.01": lambda seed: keras_lrelu.LeakyReLU(alpha=0.01),
    "Leaky ReLU 1/5.5": lambda seed: keras_lrelu.LeakyReLU(alpha=1 / 5.5),
    "PReLU (per channel, 0.25)": lambda seed: keras_lrelu.LeakyReLU(
        alpha=0.25, trainable_alpha=True, channelwise=True
    ),
    "RReLU U(1/8, 1/3)": lambda seed: keras_lrelu.RandomizedLeakyReLU(1 / 8, 1 / 3, seed=seed),
    "ELU": lambda seed: keras.layers.ELU(),
}


def train_one(dataset, name, seed, epochs, batch_size):
    """Trains one activation from one seed; returns its row and curves."""
    keras.utils.set_random_seed(seed)
    network = LeakyCNN(dataset.input_shape, dataset.num_classes, dataset.pixel_max, seed=seed)
    model = network.build_network(ACTIVATIONS[name])
    diagnostics = [
        keras_lrelu.DeadUnitMonitor(dataset.x_test[:PROBE_SIZE]),
        keras_lrelu.AlphaHistory(key="learned_alpha"),
    ]
    compat.build_metrics(model, dataset.x_train, dataset.y_train)
    start = time.perf_counter()
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=diagnostics,
    ).history
    seconds = time.perf_counter() - start
    _, train_accuracy = model.evaluate(dataset.x_train, dataset.y_train, verbose=0)
    _, test_accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    row = {
        "activation": name,
        "seed": seed,
        "backend": keras.backend.backend(),
        "train_error": 1 - train_accuracy,
        "test_error": 1 - test_accuracy,
        # ELU is no rectifier: the monitor reports nothing for it.
        "inactive_fraction": history.get("inactive_fraction", [float("nan")])[-1],
        "learned_alpha": history.get("learned_alpha", [float("nan")])[-1],
        "seconds": seconds,
    }
    curves = [
        {
            "activation": name,
            "seed": seed,
            "epoch": epoch + 1,
            "train_loss": loss,
            "val_error": 1 - history["val_accuracy"][epoch],
        }
        for epoch, loss in enumerate(history["loss"])
    ]
    return row, curves


def run(dataset, seeds, epochs, batch_size, out, command, quiet=False):
    """Trains every activation with every seed; writes compare.csv,
    compare_curves.csv, compare.md and compare.png into `out`."""
    os.makedirs(out, exist_ok=True)
    rows, curves = [], []
    total = len(ACTIVATIONS) * len(seeds)
    for name in ACTIVATIONS:
        for seed in seeds:
            if not quiet:
                print(f"run {len(rows) + 1}/{total}  {name}  seed={seed}", flush=True)
            row, run_curves = train_one(dataset, name, seed, epochs, batch_size)
            rows.append(row)
            curves.extend(run_curves)
    frame = pd.DataFrame(rows)
    frame["command"] = command
    atomic.write_csv(frame, os.path.join(out, "compare.csv"))
    atomic.write_csv(pd.DataFrame(curves), os.path.join(out, "compare_curves.csv"))
    table = markdown_report(frame, dataset.name, epochs, command)
    atomic.write_text(os.path.join(out, "compare.md"), table)
    plot_comparison(
        os.path.join(out, "compare.csv"),
        os.path.join(out, "compare_curves.csv"),
        os.path.join(out, "compare.png"),
    )
    return frame, table


def mean_std_table(frame):
    """Mean and std over seeds per activation, in ACTIVATIONS order."""
    grouped = frame.groupby("activation", sort=False)
    table = grouped[["train_error", "test_error", "inactive_fraction", "learned_alpha"]].agg(["mean", "std"])
    return table.reindex([name for name in ACTIVATIONS if name in table.index])


def paired_test(frame, name, baseline):
    """Paired t-test of test error across seeds: `name` against `baseline`.
    Returns (mean difference, p-value); p is NaN when it cannot be computed."""
    pivot = frame.pivot(index="seed", columns="activation", values="test_error")
    result = stats.paired_t_test(pivot[name], pivot[baseline])
    return result["difference"], result["p"]


def markdown_report(frame, dataset_name, epochs, command):
    seeds = frame["seed"].nunique()
    lines = [
        f"# Rectifier comparison on {dataset_name}",
        "",
        f"`{command}`",
        "",
        f"{seeds} seeds, {epochs} epochs each, on Keras's {frame['backend'].iloc[0]} backend; errors in percent, "
        "mean ± std over seeds (the form of Xu et al. 2015, Table 3).",
        "",
        "| activation | train error | test error | inactive units | learned α |",
        "|---|---|---|---|---|",
    ]
    table = mean_std_table(frame)
    for name, row in table.iterrows():
        alpha = row[("learned_alpha", "mean")]
        lines.append(
            f"| {name} | {100 * row[('train_error', 'mean')]:.2f} ± {100 * row[('train_error', 'std')]:.2f} "
            f"| {100 * row[('test_error', 'mean')]:.2f} ± {100 * row[('test_error', 'std')]:.2f} "
            f"| {_percent(row[('inactive_fraction', 'mean')])} "
            f"| {'' if pd.isna(alpha) else f'{alpha:.3f}'} |"
        )
    pairs = [(name, "ReLU") for name in table.index if name != "ReLU"]
    pairs.append(("Leaky ReLU 1/5.5", "Leaky ReLU 0.01"))  # Xu et al.: the larger slope wins
    pairs = [(name, baseline) for name, baseline in pairs if name in table.index and baseline in table.index]
    tests = [paired_test(frame, name, baseline) for name, baseline in pairs]
    adjusted = stats.holm([p for _, p in tests])
    tested = int((~np.isnan(adjusted)).sum())
    lines += [
        "",
        f"Test error, paired t-test across seeds, Holm-corrected over the {tested} comparisons "
        f"(beyond seed noise: adjusted p <= {stats.LEVEL:g}):",
        "",
    ]
    significant = []
    for (name, baseline), (difference, p), p_adjusted in zip(pairs, tests, adjusted):
        beyond = bool(p_adjusted <= stats.LEVEL)  # NaN compares False
        if beyond:
            significant.append(f"{name} vs {baseline}")
        verdict = (
            "undefined: no spread across seeds"
            if np.isnan(p)
            else "beyond seed noise"
            if beyond
            else "not detected"
        )
        lines.append(
            f"- {name} vs {baseline}: {100 * difference:+.2f} points, p = {p:.3f}, "
            f"Holm-adjusted p = {p_adjusted:.3f} ({verdict})"
        )
    lines += [
        "",
        (
            f"Differences beyond seed noise (Holm-adjusted p <= {stats.LEVEL:g}): {'; '.join(significant)}."
            if significant
            else f"No difference is detected beyond seed noise (Holm-adjusted p <= {stats.LEVEL:g}); "
            "that is not evidence that the activations are the same."
        ),
        "",
    ]
    return "\n".join(lines)


def plot_comparison(csv_path, curves_path, png_path):
    """Test error per activation with error bars, and mean training curves."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frame, curves = pd.read_csv(csv_path), pd.read_csv(curves_path)
    table = mean_std_table(frame)
    figure, (bars, lines) = plt.subplots(1, 2, figsize=(12, 4.5))
    positions = np.arange(len(table))
    bars.bar(
        positions,
        100 * table[("test_error", "mean")],
        yerr=100 * table[("test_error", "std")].fillna(0),
        capsize=4,
        color="tab:blue",
    )
    bars.set_xticks(positions, table.index, rotation=25, ha="right")
    bars.set_ylabel("test error (%), mean ± std over seeds")
    for name in table.index:
        mean_curve = curves[curves["activation"] == name].groupby("epoch")["train_loss"].mean()
        lines.plot(mean_curve.index, mean_curve.values, marker="o", label=name)
    lines.set_xlabel("epoch")
    lines.set_ylabel("training loss (mean over seeds)")
    lines.set_yscale("log")
    lines.legend()
    figure.tight_layout()
    atomic.save_figure(figure, png_path)


def _percent(value):
    return "n/a" if pd.isna(value) else f"{100 * value:.1f}%"
