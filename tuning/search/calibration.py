"""Simulated searches with known answers, decided by the verdict's own code:
how often it says better, worse or equivalent when it should not.

A simulated search trains ReLU and `leaky` other configurations, each
`repeats` times; repeat j of every configuration shares a seed effect
(common random numbers), and each run adds its own noise. Accuracies are
whole numbers of `size` validation images, so ties and zero spreads occur
as in real searches. Median pruning and confirmation follow the search's
rules (tuning/search/pruners/median.py's MedianPruner at the end of each repeat
but the last; tuning/verdict/decision.py's `to_confirm`), and the table goes through
`verdict.decide` as results.csv does. No TensorFlow.
"""

import numpy as np
import pandas as pd

from tuning import verdict
from tuning.search.pruners.median import MedianPruner
from tuning.search.pruners.race import RacePruner
from tuning.verdict import sequential

# The demo's noise: ~0.4 points between paired repeats, ~0.5 from seed to seed.
SEED_POINTS, RUN_POINTS = 0.5, 0.28
BASE_ACCURACY = 0.96


def search_table(
    rng, gaps, k, size=800, prune=False, confirm=0, margin=verdict.MARGIN_POINTS, run_points=RUN_POINTS
):
    """A results table of one simulated search: ReLU and one configuration
    per entry of `gaps` (its true difference from ReLU, in points)."""
    truths = np.array([0.0, *gaps]) / 100 + BASE_ACCURACY
    counts = _runs(rng, truths, k, size, run_points)
    statuses = ["COMPLETED"] * len(truths)
    if prune:
        statuses, counts = _pruned(counts, k, size, margin / 100)
    frame = pd.DataFrame(
        {
            "trial_id": [f"{i:02d}" for i in range(len(truths))],
            "status": statuses,
            "mode": ["relu"] + ["fixed"] * len(gaps),
            "alpha": [0.0] + [0.01 * (i + 1) for i in range(len(gaps))],
            "validation_size": size,
        }
    )
    for j, column in enumerate(verdict.repeat_columns(k)):
        frame[column] = counts[:, j] / size
    frame["val_accuracy"] = frame[verdict.repeat_columns(k)].mean(axis=1)
    if confirm:
        chosen = frame["trial_id"].isin(verdict.to_confirm(frame, k)).to_numpy()
        fresh = _runs(rng, truths, confirm, size, run_points)
        for j, column in enumerate(verdict.repeat_columns(confirm, verdict.CONFIRM)):
            frame[column] = np.where(chosen, fresh[:, j] / size, np.nan)
    return frame


def decisions(rng, gaps, k, searches, **options):
    """The decisions against ReLU of `searches` simulated searches: a list,
    per search, of the decisions of every comparison in ReLU's family."""
    found, margin, confirm = [], options.get("margin", verdict.MARGIN_POINTS), options.get("confirm", 0)
    for _ in range(searches):
        result = verdict.decide(search_table(rng, gaps, k, **options), k, margin, confirm)
        comparisons = (result or {}).get("against_relu", {}).get("comparisons", [None])
        found.append([c["decision"] for c in comparisons if c])
    return found


def rate(found, decision_set):
    """The share of searches in which some comparison made one of `decision_set`."""
    return float(np.mean([any(d in decision_set for d in search) for search in found]))


def _runs(rng, truths, k, size, run_points):
    seeds = rng.normal(0, SEED_POINTS / 100, k)
    noise = rng.normal(0, run_points / 100, (len(truths), k))
    return np.clip(np.round((truths[:, None] + seeds[None, :] + noise) * size), 0, size)


def _pruned(counts, k, size, margin):
    """Configurations in order; one stops after repeat j (not the last)
    when the search's MedianPruner says so against those finished before
    it, on each repeat's final accuracy (a one-epoch curve)."""
    pruner, statuses, kept = MedianPruner(margin, warmup_epochs=0), [], counts.astype(float)
    for c in range(len(counts)):
        status = "COMPLETED"
        finished = [i for i, s in enumerate(statuses) if s == "COMPLETED"]
        for j in range(k - 1):
            ours = [{"1": value / size} for value in counts[c, : j + 1]]
            others = [[{"1": value / size} for value in counts[i, : j + 1]] for i in finished]
            if pruner.prune(ours, lambda finished=others: finished, epoch=1):
                status, kept[c, j + 1 :] = "PRUNED", np.nan
                break
        statuses.append(status)
    return statuses, kept


def sequential_decisions(rng, gaps, ceiling, searches, on="confirm", k=3, margin=verdict.MARGIN_POINTS):
    """The decisions of `searches` simulated sequential searches that stop at
    the first decided look: `on="confirm"` is `--repeats k --confirm
    auto:ceiling`, `on="race"` is `--prune race --repeats auto:ceiling`
    (the race's pruner dropping configurations after every round). Each
    search is one list of the decisions against ReLU at the look it stopped on."""
    found = []
    for _ in range(searches):
        if on == "confirm":
            table = search_table(rng, gaps, k, confirm=ceiling, margin=margin)
            looks = sequential.plan(ceiling, verdict.CONFIRMED_LEAKY)
        else:
            table = search_table(rng, gaps, ceiling, margin=margin)
            looks = sequential.plan(ceiling, len(gaps))
        decisions = []
        for n, level in looks.items():
            if on == "confirm":
                frame = table.drop(columns=verdict.repeat_columns(ceiling, verdict.CONFIRM)[n:])
                result = verdict.decide(frame, k, margin, n, level=level)
            else:
                frame = race_table(table, n, ceiling)
                result = verdict.decide(frame, n, margin, 0, level=level)
            comparisons = (result or {}).get("against_relu", {}).get("comparisons", [None])
            decisions = [c["decision"] for c in comparisons if c]
            if decisions and decisions[0] != "undecided":
                break
        found.append(decisions)
    return found


def race_table(table, rounds, ceiling):
    """The table of a race of at most `ceiling` rounds after `rounds` of
    them: the first `rounds` repeats, and the configurations the race's
    pruner dropped on the way PRUNED."""
    frame = table.drop(columns=verdict.repeat_columns(ceiling)[rounds:])
    values = frame[verdict.repeat_columns(rounds)].to_numpy()
    pruner, racing = RacePruner(rounds=ceiling), set(range(len(frame)))
    leaky = set(np.flatnonzero(frame["mode"].to_numpy() != "relu"))
    for n in range(1, rounds + 1):
        curves = {i: [{"1": value} for value in values[i, :n]] for i in racing}
        dropped = {
            i
            for i in racing & leaky
            if pruner.prune(curves[i], lambda i=i, curves=curves: [c for j, c in curves.items() if j != i], 1)
        }
        racing -= dropped
    return frame.assign(status=[s if i in racing else "PRUNED" for i, s in enumerate(frame["status"])])
