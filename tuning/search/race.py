"""The race's rounds (`--prune race`): after KerasTuner's search has run
every configuration it proposed once (round 1, each trial's first repeat),
round j trains repeat j of every configuration still racing, one after
another, before any configuration gets repeat j + 1. After each round the
race's pruner (tuning/search/pruners/race.py) drops the configurations
worse than the leader beyond noise (never ReLU), the table and verdict are
rewritten, and with `--repeats auto:K` the race ends as soon as the verdict
against ReLU is decided (tuning/verdict/sequential.py splits its level over
the looks). Every run is recorded as it ends (tuning/search/records.py), so
a stopped race resumes at the run it lost; with --trials-per-process P a
fresh process takes over after P runs, as during the search.
"""

import time

from keras_lrelu import _compat as compat
from tuning.search import pruners
from tuning.search import records
from tuning.search.tuners import FreshProcess
from tuning.search.tuners import clock
from tuning.verdict import is_decided

# Trial metrics the race reports as later steps than any epoch of a trial's first round.
STEP_BASE = 1_000_000


def run_rounds(tuner, dataset):
    """Runs the race's rounds 2..`settings.repeats` the records lack; returns the last verdict."""
    settings = tuner.settings
    trials = [
        t
        for t in sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
        if t.status == "COMPLETED"
    ]
    pruner = pruners.make("race", settings.margin / 100, settings.repeats)
    start, trained = time.time(), 0
    _, verdict = tuner.write_results()
    for repeat in range(1, settings.repeats):
        if settings.repeats_auto and is_decided(verdict):
            break
        racing = [t for t in trials if not records.is_pruned(records.load(tuner.project_dir, t.trial_id))]
        for trial in racing:
            record = records.load(tuner.project_dir, trial.trial_id)
            if str(repeat) in record["repeats"]:
                continue
            if settings.trials_per_process and trained >= settings.trials_per_process:
                raise FreshProcess(f"{start!r} 0")
            weights = records.weights_path(tuner.project_dir, trial.trial_id, repeat)
            run = tuner.train_run(trial, repeat, dataset, [compat.best_epoch_saver(tuner, weights)])
            record["repeats"][str(repeat)] = dict(run, pruned=False, message=None)
            records.save(tuner.project_dir, trial.trial_id, record)
            tuner.keep_best_repeat(trial, record)
            tuner.oracle.update_trial(trial.trial_id, records.means(record), step=STEP_BASE + repeat)
            trained += 1
        dropped = _drop_losers(tuner, racing, pruner, repeat)
        _, verdict = tuner.write_results()
        if not settings.quiet:
            left = len(racing) - len(dropped)
            print(
                f"race round {repeat + 1}/{settings.repeats}: {left} racing"
                + (f", dropped trial {', '.join(dropped)}" if dropped else "")
                + (
                    f", decided: {verdict['decision']}"
                    if settings.repeats_auto and is_decided(verdict)
                    else ""
                )
                + f"  elapsed {clock(time.time() - start)}",
                flush=True,
            )
    return verdict


def _drop_losers(tuner, racing, pruner, repeat):
    """Asks the pruner about every leaky configuration after round `repeat` + 1;
    marks the ones it drops as pruned on that round's run. Returns their ids."""
    curves = {
        t.trial_id: [run["curve"] for run in records.ordered(records.load(tuner.project_dir, t.trial_id))]
        for t in racing
    }
    dropped = []
    for trial in racing:
        if trial.hyperparameters.values.get("mode") == "relu":
            continue  # the verdict's reference
        rivals = [c for trial_id, c in curves.items() if trial_id != trial.trial_id]
        reason = pruner.prune(curves[trial.trial_id], lambda rivals=rivals: rivals, tuner.settings.epochs)
        if reason:
            record = records.load(tuner.project_dir, trial.trial_id)
            run = record["repeats"][str(repeat)]
            run.update(
                pruned=True, message=f"left the race after round {repeat + 1}: mean val_accuracy {reason}"
            )
            records.save(tuner.project_dir, trial.trial_id, record)
            dropped.append(trial.trial_id)
    return dropped
