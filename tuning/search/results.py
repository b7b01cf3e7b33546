"""Trials as flat rows: results.csv, verdict.json, results.png and the
terminal summary."""

import math
import os
from fractions import Fraction

import pandas as pd

from tuning import atomic
from tuning.cluster import assignments
from tuning.search import records
from tuning.verdict import CONFIRM
from tuning.verdict import recompute
from tuning.verdict import recorded
from tuning.verdict import repeat_columns
from tuning.verdict import search_family
from tuning.verdict import sequential
from tuning.verdict import stats
from tuning.verdict.terms import CONFIRMED_LEAKY

COLUMNS = [
    "trial_id",
    "status",
    "worker",
    "backend",
    "mode",
    "alpha",
    "learned_alpha",
    "inactive_fraction",
    "val_accuracy",
    "val_accuracy_std",
    "val_accuracy_low",
    "val_accuracy_high",
    "repeats",
    "validation_size",
    "val_loss",
    "accuracy",
    "loss",
    "seconds",
    "filters",
    "learning_rate",
    "message",
    "command",
]
# Means over a trial's repeats (seconds: their sum), as the oracle holds them.
METRICS = ["learned_alpha", "inactive_fraction", "val_accuracy", "val_loss", "accuracy", "loss", "seconds"]
# Fixed per mode, so plots of different searches compare at a glance.
MODE_COLOURS = {
    "fixed": "tab:blue",
    "trainable": "tab:orange",
    "channelwise": "tab:green",
    "randomized": "tab:red",
    "relu": "tab:gray",
}
SUMMARY_COLUMNS = [
    "trial_id",
    "status",
    "worker",
    "mode",
    "alpha",
    "learned_alpha",
    "inactive_fraction",
    "val_accuracy",
    "val_loss",
    "seconds",
]
VERDICT_NAME = "verdict.json"


def trial_row(trial, command="", worker=None, record=None, outside="", validation_size=None):
    """One trial as a flat dict. `alpha` is 0 for the ReLU baseline; the
    repeats come from the trial's record (tuning/search/records.py), and a pruned
    trial's status is PRUNED. `outside` names hyperparameters the search
    space does not hold: such a trial (only a client of the chief that is
    not one of our workers can report one) is REFUSED, so it is never
    ranked, exported or in the verdict, as is a COMPLETED trial without
    repeat records: the metrics columns are the means of the records, never
    what a client reported to the oracle."""
    values = trial.hyperparameters.values
    mode = values.get("mode")
    record = record or {"repeats": {}}
    runs = records.ordered(record)
    pruned = records.is_pruned(record)
    refusal = f"hyperparameters outside the search space: {outside}" if outside else None
    if not refusal and trial.status == "COMPLETED" and not runs:  # a reported score is not a result
        refusal = f"COMPLETED without repeat records in trial_{trial.trial_id}/{records.RECORD_NAME}"
    row = {
        "trial_id": trial.trial_id,
        "status": "REFUSED"
        if refusal
        else "PRUNED"
        if pruned and trial.status == "COMPLETED"
        else trial.status,
        "worker": worker,
        "backend": record.get("backend"),  # the Keras backend that trained it
        "mode": mode,
        "alpha": 0.0 if mode == "relu" else values.get("alpha"),
        "filters": values.get("filters"),
        "learning_rate": values.get("learning_rate"),
        "repeats": len(runs),
        # A record from before the verdict counted images has none: the search's own split.
        "validation_size": record.get("validation_size", validation_size),
        "message": refusal
        or next((run["message"] for run in runs if run["pruned"]), None)
        or last_line(trial.message),
        "command": command,
    }
    # What the trial's repeats recorded in its folder, not what was reported to the oracle.
    means = records.means(record) if runs else {}
    for name in METRICS:
        row[name] = means.get(name)
    accuracies = [run["metrics"]["val_accuracy"] for run in runs]
    if len(runs) > 1 and not pruned:  # a pruned configuration's runs are not a sample of it
        _, row["val_accuracy_std"], row["val_accuracy_low"], row["val_accuracy_high"] = stats.interval(
            accuracies
        )
    for j, run in enumerate(runs, start=1):
        row[f"val_accuracy_{j}"] = run["metrics"]["val_accuracy"]
        row[f"val_loss_{j}"] = run["metrics"]["val_loss"]
    for j, run in enumerate(records.ordered_confirmation(record), start=1):
        row[f"{CONFIRM}_{j}"] = run["metrics"]["val_accuracy"]
    return row


def to_frame(
    trials,
    command="",
    workers=None,
    project_dir=None,
    k=1,
    outside_space=None,
    confirm=0,
    validation_size=None,
):
    """The trials of an oracle (a dict id -> Trial) as a DataFrame with
    `k` per-repeat columns and `confirm` confirmation columns; `workers`
    maps trial ids to who ran them, the repeats are read from the trial
    folders under `project_dir`, `outside_space(values)` names values the
    search space does not hold, and `validation_size` is the split's size
    for records that do not give it."""
    workers = workers or {}
    ordered = sorted(trials.values(), key=lambda t: int(t.trial_id))
    rows = [
        trial_row(
            t,
            command,
            workers.get(t.trial_id),
            records.load(project_dir, t.trial_id) if project_dir else None,
            outside_space(t.hyperparameters.values) if outside_space else "",
            validation_size,
        )
        for t in ordered
    ]
    per_repeat = repeat_columns(k) + repeat_columns(k, "val_loss") + repeat_columns(confirm, CONFIRM)
    columns = COLUMNS[:-2] + per_repeat + COLUMNS[-2:]
    return pd.DataFrame(rows, columns=columns)


def write_results(project_dir, trials, settings, outside_space=None, validation_size=None, plot=True):
    """Rewrites results.csv, verdict.json and (with `plot`) results.png in `project_dir`
    from the oracle's `trials`, by the search's `settings` (its repeats,
    confirmation, margin and command); `outside_space` and
    `validation_size` as for `to_frame`. The table records what the verdict
    was decided on (tuning/verdict/recorded.py), and the verdict is
    recomputed from the table as `python -m tuning verdict` does. Returns
    (frame, verdict)."""
    frame = to_frame(
        trials,
        settings.command,
        assignments.read(project_dir),
        project_dir,
        settings.repeats,
        outside_space,
        settings.confirm,
        validation_size,
    )
    k, confirm, levels, looks = decided_on(frame, settings)
    frame = frame.assign(**recorded.columns(k, confirm, levels, looks, settings.margin_points))
    verdict = recompute(frame)
    frame = frame.assign(**recorded.family(verdict))
    csv_path = os.path.join(project_dir, "results.csv")
    atomic.write_csv(frame, csv_path)
    if verdict:  # finished configurations stay finished, so a verdict is never stale
        atomic.write_text(
            os.path.join(project_dir, VERDICT_NAME), atomic.to_json(dict(verdict, command=settings.command))
        )
    if plot:
        plot_results(csv_path, os.path.join(project_dir, "results.png"))
    return frame, verdict


def decided_on(frame, settings):
    """(k, confirm, levels, looks): the search and confirmation repeats the
    verdict is decided on now, from a results frame, the family-wise levels
    of this look ((better or worse, equivalent), 5% each unless
    sequential), and for a sequential search (auto:K) its plan of looks
    (tuning/verdict/sequential.py; else None). A race's k is its last whole
    round: the fewest repeats of a configuration still racing; a
    confirmation's, the fewest of the configurations it retrains."""
    k, confirm, looks = settings.repeats, settings.confirm, None
    levels = (Fraction(str(stats.LEVEL)),) * 2
    if settings.prune == "race":
        racing = frame["repeats"].to_numpy()[(frame["status"] == "COMPLETED").to_numpy()]
        k = int(racing.min()) if len(racing) else 1
    if settings.confirm_auto:
        counts = frame[repeat_columns(settings.confirm, CONFIRM)].notna().to_numpy().sum(axis=1)
        confirm = int(counts[counts > 0].min()) if (counts > 0).any() else 0
        if confirm:
            looks = sequential.plan(settings.confirm, CONFIRMED_LEAKY)
            levels = sequential.levels_at(looks, confirm)
    elif settings.repeats_auto:
        looks = sequential.plan(settings.repeats, max(search_family(frame), 1))
        levels = sequential.levels_at(looks, k)
    return k, confirm, levels, looks


def ranked(frame):
    """Finished configurations by mean val_accuracy, best first, then the
    pruned ones, then the rest."""
    order = frame["status"].map({"COMPLETED": 0, "PRUNED": 1}).fillna(2)
    table = frame.assign(_order=order, _mean=frame["val_accuracy"].fillna(-math.inf))
    return table.sort_values(["_order", "_mean"], ascending=[True, False], kind="stable").drop(
        columns=["_order", "_mean"]
    )


def ranked_text(frame):
    """The trials ranked (see `ranked`) as a printable table; with repeats,
    val_accuracy is `mean ± half-width of its 95% interval`."""
    table = ranked(frame)
    with_repeats = table["val_accuracy_high"].notna().any()
    shown = table[SUMMARY_COLUMNS].copy()
    if with_repeats:
        half = table["val_accuracy_high"] - table["val_accuracy"]
        shown["val_accuracy"] = [
            "" if pd.isna(mean) else f"{mean:.4g} ± {h:.2g}" if not pd.isna(h) else f"{mean:.4g}"
            for mean, h in zip(table["val_accuracy"], half)
        ]
        shown = shown.rename(columns={"val_accuracy": "val_accuracy (95% CI)"})
    shown = shown.fillna("")
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def plot_results(csv_path, png_path):
    """Writes `results_figure` of the CSV at `csv_path` to `png_path`."""
    atomic.save_figure(results_figure(pd.read_csv(csv_path)), png_path)


def results_figure(frame):
    """Validation accuracy against alpha (log axis), one colour per mode,
    with the 95% interval over repeats as error bars, as a matplotlib
    Figure made without pyplot (so a notebook's backend is left as it is,
    and the figure shows inline when displayed).

    Reads only the results frame; never re-runs training. The ReLU baseline
    has no alpha, so it is drawn as a horizontal line (its interval as a
    band). Pruned and failed trials are left out.
    """
    from matplotlib.figure import Figure

    done = frame[(frame["status"] == "COMPLETED") & frame["val_accuracy"].notna()]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for mode, group in done.groupby("mode", sort=True):
        colour = MODE_COLOURS.get(mode, "black")
        if mode == "relu":
            for row in group.itertuples():
                axes.axhline(row.val_accuracy, color=colour, linestyle="--", label="relu (no alpha)")
                if not pd.isna(row.val_accuracy_low):
                    axes.axhspan(row.val_accuracy_low, row.val_accuracy_high, color=colour, alpha=0.15)
        else:
            group = group.sort_values("alpha")
            errors = [
                (group["val_accuracy"] - group["val_accuracy_low"]).fillna(0),
                (group["val_accuracy_high"] - group["val_accuracy"]).fillna(0),
            ]
            axes.errorbar(
                group["alpha"],
                group["val_accuracy"],
                yerr=errors,
                fmt="o-",
                capsize=3,
                color=colour,
                alpha=0.8,
                label=mode,
            )
    axes.set_xscale("log")
    axes.set_xlabel("alpha (initial slope for learned modes, mean for randomized)")
    k = int(frame["repeats"].max()) if frame["repeats"].notna().any() else 1
    axes.set_ylabel("validation accuracy" + (f", mean and 95% CI of {k} repeats" if k > 1 else ""))
    pruned = int((frame["status"] == "PRUNED").sum())
    axes.set_title(f"{len(done)} finished trials of {len(frame)}" + (f" ({pruned} pruned)" if pruned else ""))
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        axes.legend(unique.values(), unique.keys(), loc="lower right")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    return figure


def last_line(message):
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else None
