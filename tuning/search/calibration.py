"""Simulated searches with known answers, decided by the verdict's own code:
how often it says better, worse or equivalent when it should not.

A simulated search trains ReLU and `leaky` other configurations, each
`repeats` times; repeat j of every configuration shares a seed effect
(common random numbers), and each run adds its own noise. Accuracies are
whole numbers of `size` validation images, so ties and zero spreads occur
as in real searches. Median pruning and confirmation follow the search's
rules (tuning/search/pruners/median.py's MedianPruner at the end of each repeat
but the last, the race's RacePruner after each round, never asking about
ReLU; tuning/verdict/decision.py's `to_confirm`), and the table goes through
`verdict.decide` as results.csv does; a sequential search's looks go
through the search's own `decided_on` and `verdict.recompute`. ReLU may sit
anywhere in the order of trials (`baseline_at`), and a configuration's
differences from ReLU may be skewed (`skew`). No TensorFlow.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from tuning import verdict
from tuning.search import results
from tuning.search.pruners import margin_fraction
from tuning.search.pruners import may_prune
from tuning.search.pruners.median import MedianPruner
from tuning.search.pruners.race import RacePruner
from tuning.verdict import recorded

# The demo's noise: ~0.4 points between paired repeats, ~0.5 from seed to seed.
SEED_POINTS, RUN_POINTS = 0.5, 0.28
BASE_ACCURACY = 0.96


def search_table(
    rng,
    gaps,
    k,
    size=800,
    prune=False,
    confirm=0,
    margin_points=verdict.MARGIN_POINTS,
    run_points=RUN_POINTS,
    baseline_at=0,
    skew=None,
):
    """A results table of one simulated search: ReLU and one configuration
    per entry of `gaps` (its true difference from ReLU, in points), ReLU
    the trial at position `baseline_at`. With `skew` = (up, down, share),
    every leaky run is ReLU's same run plus `up` images, or minus `down`
    images in a `share` of runs, instead of its gap and noise."""
    truths = np.array([0.0, *gaps]) / 100 + BASE_ACCURACY
    order = [*range(1, baseline_at + 1), 0, *range(baseline_at + 1, len(truths))]
    truths = truths[order]
    counts = _runs(rng, truths, k, size, run_points, skew, baseline_at)
    modes = ["fixed"] * len(truths)
    modes[baseline_at] = verdict.BASELINE_MODE
    statuses = ["COMPLETED"] * len(truths)
    if prune:
        statuses, counts = _pruned(counts, k, size, margin_fraction(margin_points), modes)
    columns = {
        "trial_id": [f"{i:02d}" for i in range(len(truths))],
        "status": statuses,
        "mode": modes,
        "alpha": [0.0 if mode == verdict.BASELINE_MODE else 0.01 * (i + 1) for i, mode in enumerate(modes)],
        "validation_size": size,
        "repeats": np.isfinite(counts).sum(axis=1),
    }
    columns.update(zip(verdict.repeat_columns(k), (counts / size).T))
    frame = pd.DataFrame(columns)  # in one go: a column at a time costs more than the verdict
    frame["val_accuracy"] = frame[verdict.repeat_columns(k)].mean(axis=1)
    if confirm:
        chosen = frame["trial_id"].isin(verdict.to_confirm(frame, k)).to_numpy()
        fresh = _runs(rng, truths, confirm, size, run_points, skew, baseline_at)
        for j, column in enumerate(verdict.repeat_columns(confirm, verdict.CONFIRM)):
            frame[column] = np.where(chosen, fresh[:, j] / size, np.nan)
    return frame


def decisions(rng, gaps, k, searches, **options):
    """The decisions against ReLU of `searches` simulated searches: a list,
    per search, of the decisions of every comparison in ReLU's family."""
    margin_points, confirm = options.get("margin_points", verdict.MARGIN_POINTS), options.get("confirm", 0)
    found = []
    for _ in range(searches):
        result = verdict.decide(search_table(rng, gaps, k, **options), k, margin_points, confirm)
        comparisons = (result or {}).get("against_relu", {}).get("comparisons", [None])
        found.append([c["decision"] for c in comparisons if c])
    return found


def rate(found, decision_set):
    """The share of searches in which some comparison made one of `decision_set`."""
    return float(np.mean([any(d in decision_set for d in search) for search in found]))


def _runs(rng, truths, k, size, run_points, skew=None, baseline_at=0):
    seeds = rng.normal(0, SEED_POINTS / 100, k)
    noise = rng.normal(0, run_points / 100, (len(truths), k))
    counts = np.clip(np.round((truths[:, None] + seeds[None, :] + noise) * size), 0, size)
    if skew:
        up, down, share = skew
        shifts = np.where(rng.random((len(truths), k)) < share, -down, up)
        counts = np.clip(counts[baseline_at][None, :] + shifts, 0, size)
        counts[baseline_at] = counts[baseline_at] - shifts[baseline_at]
    return counts


def _pruned(counts, k, size, margin_as_fraction, modes):
    """Configurations in order; one stops after repeat j (not the last)
    when the search's MedianPruner says so against those finished before
    it, on each repeat's final accuracy (a one-epoch curve); ReLU is never
    asked, as in the search."""
    pruner, statuses, kept = MedianPruner(margin_as_fraction, warmup_epochs=0), [], counts.astype(float)
    for c in range(len(counts)):
        status = "COMPLETED"
        finished = [i for i, s in enumerate(statuses) if s == "COMPLETED"]
        for j in range(k - 1 if may_prune(modes[c]) else 0):
            ours = [{"1": value / size} for value in counts[c, : j + 1]]
            others = [[{"1": value / size} for value in counts[i, : j + 1]] for i in finished]
            if pruner.prune(ours, lambda finished=others: finished, epoch=1):
                status, kept[c, j + 1 :] = "PRUNED", np.nan
                break
        statuses.append(status)
    return statuses, kept


def sequential_decisions(rng, gaps, ceiling, searches, **options):
    """The decisions of `searches` simulated sequential searches
    (`sequential_searches`), each one list of the decisions against ReLU
    at the look it stopped on."""
    return [decisions for decisions, _ in sequential_searches(rng, gaps, ceiling, searches, **options)]


def sequential_searches(
    rng, gaps, ceiling, searches, on="confirm", k=3, margin_points=verdict.MARGIN_POINTS, **options
):
    """`searches` simulated sequential searches that stop at the first
    decided look: `on="confirm"` is `--repeats k --confirm auto:ceiling`,
    `on="race"` is `--prune race --repeats auto:ceiling` (the race's pruner
    dropping configurations after every round). Each look is decided as
    the search decides it (`results.decided_on`, then `verdict.recompute`
    on the recorded table). Returns, per search, (the decisions against
    ReLU at the look it stopped on, the rounds it ran); `options` go to
    `search_table`."""
    settings = SimpleNamespace(
        prune="race" if on == "race" else "none",
        repeats=ceiling if on == "race" else k,
        confirm=ceiling if on == "confirm" else 0,
        repeats_auto=on == "race",
        confirm_auto=on == "confirm",
        margin_points=margin_points,
    )
    found = []
    for _ in range(searches):
        if on == "confirm":
            table = search_table(rng, gaps, k, confirm=ceiling, margin_points=margin_points, **options)
        else:
            table = search_table(rng, gaps, ceiling, margin_points=margin_points, **options)
        decisions, n = [], 0
        for n in range(1, ceiling + 1):
            if on == "confirm":
                frame = table.copy()
                frame[verdict.repeat_columns(ceiling, verdict.CONFIRM)[n:]] = np.nan
            else:
                frame = race_table(table, n, ceiling)
            inputs = results.decided_on(frame, settings)
            if not any(inputs[2]):  # not a planned look: nothing can be decided on it
                continue
            found_now = verdict.recompute(frame.assign(**recorded.columns(*inputs, settings.margin_points)))
            comparisons = (found_now or {}).get("against_relu", {}).get("comparisons", [None])
            decisions = [c["decision"] for c in comparisons if c]
            if verdict.is_decided(found_now):
                break
        found.append((decisions, n))
    return found


def race_table(table, rounds, ceiling):
    """The table of a race of at most `ceiling` rounds after `rounds` of
    them: the first `rounds` repeats (the rest empty), and the
    configurations the race's pruner dropped on the way PRUNED."""
    columns = verdict.repeat_columns(ceiling)
    frame = table.copy()
    frame[columns[rounds:]] = np.nan
    values = frame[columns[:rounds]].to_numpy()
    size = int(frame["validation_size"].iloc[0])
    pruner, racing = RacePruner(repeats=ceiling, validation_size=size), set(range(len(frame)))
    leaky = {i for i, mode in enumerate(frame["mode"]) if may_prune(mode)}
    for n in range(1, rounds + 1):
        curves = {i: [{"1": value} for value in values[i, :n]] for i in racing}
        dropped = {
            i
            for i in racing & leaky
            if pruner.prune(curves[i], lambda i=i, curves=curves: [c for j, c in curves.items() if j != i], 1)
        }
        racing -= dropped
    return frame.assign(
        status=[s if i in racing else "PRUNED" for i, s in enumerate(frame["status"])], repeats=rounds
    )
