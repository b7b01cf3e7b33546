"""The race's rounds (`--prune race`): after KerasTuner's search has run
every configuration it proposed once (round 1, each trial's first repeat),
round j trains repeat j of every configuration still racing, one after
another, before any configuration gets repeat j + 1. After each round the
race's pruner (tuning/search/pruners/race.py) drops the configurations
worse than the leader beyond noise (never ReLU: pruners.may_prune), the table and verdict are
rewritten, and with `--repeats auto:K` the race ends as soon as the verdict
against ReLU is decided (tuning/verdict/sequential.py splits its level over
the looks). Every run is recorded as it ends (tuning/search/records.py), so
a stopped race resumes at the run it lost; with --trials-per-process P a
fresh process takes over after P runs, as during the search. Under
`--workers N` the chief trains each round in N processes of its host.
"""

import time

from keras_lrelu import _compat as compat
from tuning.search import pruners
from tuning.search import records
from tuning.search.reporting import FreshProcess
from tuning.search.reporting import clock
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
    pruner = pruners.from_settings(settings, "race", len(dataset.y_val))
    start, trained = time.time(), 0
    _, verdict = tuner.write_progress()
    for repeat in range(1, settings.repeats):
        if settings.repeats_auto and is_decided(verdict):
            break
        racing = [t for t in trials if not records.is_pruned(records.load(tuner.project_dir, t.trial_id))]
        missing = [
            t for t in racing if str(repeat) not in records.load(tuner.project_dir, t.trial_id)["repeats"]
        ]
        processes = 0
        if settings.round_workers > 1 and len(missing) > 1:
            processes = _train_in_processes(settings, [t.trial_id for t in missing], repeat)
        for trial in missing:  # what no process recorded (all of them, without processes)
            if str(repeat) not in records.load(tuner.project_dir, trial.trial_id)["repeats"]:
                if settings.trials_per_process and trained >= settings.trials_per_process:
                    raise FreshProcess(f"{start!r} 0")
                _train_and_record(tuner, trial, repeat, dataset)
                trained += 1
            record = records.load(tuner.project_dir, trial.trial_id)
            tuner.oracle.update_trial(trial.trial_id, records.means(record), step=STEP_BASE + repeat)
        dropped = _drop_losers(tuner, racing, pruner, repeat)
        _, verdict = tuner.write_progress()
        if not settings.quiet and (missing or dropped):  # a round a resumed race had whole is no news
            left = len(racing) - len(dropped)
            print(
                f"race round {repeat + 1}/{settings.repeats}: {left} racing"
                + (f" (trained in {processes} processes)" if processes else "")
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


def _train_and_record(tuner, trial, repeat, dataset):
    """Trains repeat `repeat` of `trial`, records it and keeps the best repeat's checkpoint."""
    weights = records.weights_path(tuner.project_dir, trial.trial_id, repeat)
    run = tuner.train_run(trial, repeat, dataset, [compat.best_epoch_saver(tuner, weights)])
    record = records.load(tuner.project_dir, trial.trial_id)
    record["repeats"][str(repeat)] = dict(run, pruned=False, message=None)
    records.save(tuner.project_dir, trial.trial_id, record)
    tuner.keep_best_repeat(trial, record)


def _train_in_processes(settings, trial_ids, repeat):
    """Round `repeat` of `trial_ids` split over `settings.round_workers`
    processes of this host, each recording the runs it trains (one trial's
    record is written by one process only); returns how many ran. A process
    that dies leaves its runs unrecorded, and the caller trains them itself.
    Each inherits the search's TF_NUM_INTRAOP_THREADS, so a run scores as it
    would here."""
    import dataclasses
    import multiprocessing

    share_settings = dataclasses.replace(
        settings, role=None, oracle_address=None, overwrite=False, quiet=True, round_workers=0, tls=None
    )
    workers = min(settings.round_workers, len(trial_ids))
    context = multiprocessing.get_context("spawn")  # a fresh TensorFlow, not a fork of this one
    processes = [
        context.Process(target=_train_share, args=(share_settings, trial_ids[i::workers], repeat))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return workers


def _train_share(settings, trial_ids, repeat):
    """A round process: reloads the project's tuner and trains its share of the round."""
    from tuning import data
    from tuning.quiet import import_tensorflow_quietly
    from tuning.search import tuners

    import_tensorflow_quietly()
    dataset = data.load(settings.dataset, image_size=settings.image_size, seed=settings.seed)
    tuner = tuners.build_tuner(settings, dataset, quiet_reload=True)
    for trial_id in trial_ids:
        _train_and_record(tuner, tuner.oracle.trials[trial_id], repeat, dataset)


def _drop_losers(tuner, racing, pruner, repeat):
    """Asks the pruner about every leaky configuration after round `repeat` + 1;
    marks the ones it drops as pruned on that round's run. Returns their ids."""
    curves = {
        t.trial_id: [run["curve"] for run in records.ordered(records.load(tuner.project_dir, t.trial_id))]
        for t in racing
    }
    dropped = []
    for trial in racing:
        if not pruners.may_prune(trial.hyperparameters.values.get("mode")):
            continue
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
