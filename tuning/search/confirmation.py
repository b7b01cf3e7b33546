"""Confirmation: the configurations the search chose, trained again from
seeds no choice used, so that the verdict against ReLU does not rest on the
repeats that picked the winner (a best of many is flattered by its pick).

After the search, the two best leaky configurations by mean and ReLU
(tuning/verdict/decision.py's `to_confirm`) each train `--confirm K` more times, in
rounds (confirmation repeat j of each before j + 1 of any, so a stopped run
leaves whole pairs), repeat j from seed `--seed + 1000 * (100 + j)` in all
three; with `--confirm auto:K` the rounds stop once the verdict on them is
decided (tuning/verdict/sequential.py). Each run is recorded in its trial's repeats.json as it ends, so a
resumed search goes on where it stopped. Every run trains from scratch for
`--epochs` epochs, on every tuner (a Hyperband trial too).
"""

import time

from tuning.cluster import assignments
from tuning.search import records
from tuning.search import results
from tuning.search.reporting import clock
from tuning.verdict import is_decided
from tuning.verdict import to_confirm


def train_confirmations(tuner, dataset):
    """Trains the `tuner.settings.confirm` confirmation repeats that the
    project's records lack."""
    settings = tuner.settings
    if not settings.confirm:
        return
    frame = results.to_frame(
        tuner.oracle.trials,
        project_dir=tuner.project_dir,
        k=settings.repeats,
        confirm=settings.confirm,
        workers=assignments.read(tuner.project_dir),
        validation_size=len(dataset.y_val),
    )
    k, _, _, _ = results.decided_on(frame, settings)
    chosen = to_confirm(frame, k)
    if len(chosen) < 2:  # nothing to compare
        return
    start = time.time()
    for j in range(settings.confirm):
        # The plot shows the search's repeats, which confirmation does not change.
        if settings.confirm_auto and j and is_decided(tuner.write_results(plot=False)[1]):
            return
        for trial_id in chosen:
            record = records.load(tuner.project_dir, trial_id)
            if str(j) in record.get("confirm", {}):
                continue
            trial = tuner.oracle.trials[trial_id]
            outcome = tuner.train_run(trial, records.CONFIRM_FIRST_REPEAT + j, dataset)
            record.setdefault("confirm", {})[str(j)] = outcome
            records.save(tuner.project_dir, trial_id, record)
            if not settings.quiet:
                print(
                    f"confirm {j + 1}/{settings.confirm}  trial {trial_id}  val_accuracy "
                    f"{outcome['metrics']['val_accuracy']:.4f}  elapsed {clock(time.time() - start)}",
                    flush=True,
                )
