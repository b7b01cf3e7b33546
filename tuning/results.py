"""Trials as flat rows: results.csv, results.png and the terminal summary."""

import os

import pandas as pd

from tuning import atomic
from tuning.distributed import read_workers

COLUMNS = [
    "trial_id", "status", "worker", "mode", "alpha", "learned_alpha", "inactive_fraction",
    "val_accuracy", "val_loss", "accuracy", "loss", "seconds", "filters",
    "learning_rate", "message", "command",
]
METRICS = [
    "learned_alpha", "inactive_fraction", "val_accuracy", "val_loss", "accuracy", "loss", "seconds",
]
# Fixed per mode, so plots of different searches compare at a glance.
MODE_COLOURS = {
    "fixed": "tab:blue", "trainable": "tab:orange", "channelwise": "tab:green",
    "randomized": "tab:red", "relu": "tab:gray",
}
SUMMARY_COLUMNS = [
    "trial_id", "status", "worker", "mode", "alpha", "learned_alpha", "inactive_fraction",
    "val_accuracy", "val_loss", "seconds",
]

def trial_row(trial, command="", worker=None):
    """One trial as a flat dict. `alpha` is 0 for the ReLU baseline."""
    values = trial.hyperparameters.values
    mode = values.get("mode")
    row = {
        "trial_id": trial.trial_id,
        "status": trial.status,
        "worker": worker,
        "mode": mode,
        "alpha": 0.0 if mode == "relu" else values.get("alpha"),
        "filters": values.get("filters"),
        "learning_rate": values.get("learning_rate"),
        "message": last_line(trial.message),
        "command": command,
    }
    for name in METRICS:
        exists = trial.metrics.exists(name)
        row[name] = trial.metrics.get_last_value(name) if exists else None
    return row

def to_frame(trials, command="", workers=None):
    """The trials of an oracle (a dict id -> Trial) as a DataFrame;
    `workers` maps trial ids to who ran them."""
    workers = workers or {}
    ordered = sorted(trials.values(), key=lambda t: int(t.trial_id))
    rows = [trial_row(t, command, workers.get(t.trial_id)) for t in ordered]
    return pd.DataFrame(rows, columns=COLUMNS)

def write(tuner, command=""):
    """Rewrites results.csv and results.png in the tuner's project folder."""
    frame = to_frame(tuner.oracle.trials, command, read_workers(tuner.project_dir))
    csv_path = os.path.join(tuner.project_dir, "results.csv")
    write_csv(frame, csv_path)
    plot(csv_path, os.path.join(tuner.project_dir, "results.png"))
    return frame

def write_csv(frame, path):
    """Writes through a temporary file, so readers never see half a table."""
    atomic.write_file(path, lambda tmp: frame.to_csv(tmp, index=False))


def save_figure(figure, path):
    """Saves a matplotlib figure as PNG through a temporary file, and closes it."""
    from matplotlib import pyplot as plt

    try:
        atomic.write_file(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(figure)


def summary(frame):
    """The trials sorted best first, as a printable table."""
    table = frame.sort_values("val_accuracy", ascending=False, na_position="last")
    table = table[SUMMARY_COLUMNS].fillna("")
    return table.to_string(index=False, float_format=lambda v: f"{v:.4g}")

def plot(csv_path, png_path):
    """Validation accuracy against alpha (log axis), one colour per mode.

    Reads only the CSV; never re-runs training. The ReLU baseline has no
    alpha, so it is drawn as a horizontal line.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frame = pd.read_csv(csv_path)
    done = frame[(frame["status"] == "COMPLETED") & frame["val_accuracy"].notna()]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for mode, group in done.groupby("mode", sort=True):
        colour = MODE_COLOURS.get(mode, "black")
        if mode == "relu":
            for value in group["val_accuracy"]:
                axes.axhline(value, color=colour, linestyle="--", label="relu (no alpha)")
        else:
            group = group.sort_values("alpha")
            axes.plot(group["alpha"], group["val_accuracy"], "o-", color=colour, alpha=0.8, label=mode)
    axes.set_xscale("log")
    axes.set_xlabel("alpha (initial slope for learned modes, mean for randomized)")
    axes.set_ylabel("validation accuracy")
    axes.set_title(f"{len(done)} completed trials of {len(frame)}")
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        axes.legend(unique.values(), unique.keys(), loc="lower right")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    save_figure(figure, png_path)


def last_line(message):
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else None
