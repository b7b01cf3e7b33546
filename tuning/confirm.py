"""Confirmation: the configurations the search chose, trained again from
seeds no choice used, so that the verdict against ReLU does not rest on the
repeats that picked the winner (a best of many is flattered by its pick).

After the search, the two best leaky configurations by mean and ReLU
(tuning/verdict.py's `to_confirm`) each train `--confirm K` more times, in
rounds (confirmation repeat j of each before j + 1 of any, so a stopped run
leaves whole pairs), repeat j from seed `--seed + 1000 * (100 + j)` in all
three. Each run is recorded in its trial's repeats.json as it ends, so a
resumed search goes on where it stopped. Every run trains from scratch for
`--epochs` epochs, on every tuner (a Hyperband trial too).
"""

import time

import keras

from tuning import repeats
from tuning import results
from tuning import verdict
from tuning.distributed import read_workers
from tuning.search import clock


def run(tuner, dataset, epochs, batch_size, count, quiet=False):
    """Trains the confirmation repeats that the project's records lack."""
    if not count:
        return
    frame = results.to_frame(tuner.oracle.trials, project_dir=tuner.project_dir, k=tuner.repeats,
                             workers=read_workers(tuner.project_dir), validation_size=len(dataset.y_val))
    chosen = verdict.to_confirm(frame, tuner.repeats)
    if len(chosen) < 2:  # nothing to compare
        return
    start = time.time()
    for j in range(count):
        for trial_id in chosen:
            record = repeats.load(tuner.project_dir, trial_id)
            if str(j) in record.get("confirm", {}):
                continue
            trial = tuner.oracle.trials[trial_id]
            outcome = _train(tuner, trial, j, dataset, epochs, batch_size)
            record.setdefault("confirm", {})[str(j)] = outcome
            repeats.save(tuner.project_dir, trial_id, record)
            if not quiet:
                print(f"confirm {j + 1}/{count}  trial {trial_id}  val_accuracy "
                      f"{outcome['metrics']['val_accuracy']:.4f}  elapsed {clock(time.time() - start)}", flush=True)


def _train(tuner, trial, j, dataset, epochs, batch_size):
    """Confirmation repeat `j` of `trial`: built and trained as a search
    repeat is (tuning/hypermodel.py), from its own seed."""
    hypermodel, hp = tuner.hypermodel, trial.hyperparameters
    hypermodel.repeat = repeats.CONFIRM_FIRST_REPEAT + j
    keras.backend.clear_session()  # as KerasTuner does before each build
    model = hypermodel.build(hp)
    monitor = repeats.RepeatMonitor(tuner.project_dir, trial.trial_id, hypermodel.repeat)
    metrics = hypermodel.fit(
        hp, model, dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
        epochs=epochs, batch_size=batch_size, callbacks=[monitor], verbose=0,
    )
    return {"seed": hypermodel.run_seed, "metrics": metrics, "curve": monitor.curve}
