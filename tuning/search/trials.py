"""A trial as K repeated runs of its configuration, for any KerasTuner tuner.

Repeat j of every configuration trains from the same seed (weights, data
order, RReLU draws), so configurations compare pairwise on the same K
starting points. Each repeat is recorded (tuning/search/records.py) as soon
as it ends, so a killed search resumes without losing it, and the search's
pruner may stop a configuration between epochs or repeats.
"""

import os
import shutil

import keras

from keras_lrelu import _compat as compat
from tuning import atomic
from tuning.search import pruners
from tuning.search import records
from tuning.search.callbacks import CurveRecorder
from tuning.search.callbacks import PruningCallback


class RepeatedTrials:
    """Mixed into a KerasTuner tuner before it, with `self.settings` (a
    tuning.settings.SearchSettings): `run_trial` trains the configuration
    `settings.repeats` times and returns the means over its runs, the
    objective KerasTuner ranks by."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pruners = {}  # by --prune name, each built once from the settings

    def run_trial(self, trial, *args, **kwargs):
        """Trains the repeats a stopped run of this trial did not record,
        and none once a repeat is pruned; the trial's checkpoint is the best
        epoch of its best repeat."""
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:  # Hyperband's bracket, as kt.Hyperband.run_trial sets it
            kwargs.update(epochs=values["tuner/epochs"], initial_epoch=values["tuner/initial_epoch"])
        callbacks = kwargs.pop("callbacks", [])
        record = records.load(self.project_dir, trial.trial_id)
        record["planned"] = self.settings.repeats
        record["backend"] = keras.backend.backend()
        record["validation_size"] = len(kwargs["validation_data"][1])
        # A race's trial is its first round; tuning/search/race.py runs the others.
        for repeat in range(1 if self.settings.prune == "race" else self.settings.repeats):
            if records.is_pruned(record):
                break
            if str(repeat) not in record["repeats"]:
                earlier = [run["curve"] for run in records.ordered(record)]
                record["repeats"][str(repeat)] = self._run_repeat(
                    trial, repeat, earlier, callbacks, args, kwargs
                )
                records.save(self.project_dir, trial.trial_id, record)
        self.keep_best_repeat(trial, record)
        return records.means(record)

    def _run_repeat(self, trial, repeat, earlier, callbacks, args, kwargs):
        recorder = CurveRecorder()
        name = self.settings.prune if pruners.may_prune(trial.hyperparameters.values.get("mode")) else "none"
        if name not in self._pruners:  # one of each for the whole search: a pruner keeps no state
            self._pruners[name] = pruners.from_settings(self.settings, name)
        pruning = PruningCallback(
            self._pruners[name],
            recorder,
            self.project_dir,
            trial.trial_id,
            repeat,
            earlier,
            last=repeat == self.settings.repeats - 1,
        )
        weights = records.weights_path(self.project_dir, trial.trial_id, repeat)
        callbacks = compat.execution_callbacks(self, trial, callbacks, repeat, weights)
        self.hypermodel.repeat = repeat
        metrics = compat.build_and_fit(
            self, trial, *args, callbacks=[recorder, pruning, *callbacks], **kwargs
        )
        return {
            "seed": self.hypermodel.run_seed,
            "metrics": metrics,
            "curve": recorder.curve,
            "pruned": pruning.pruned_message is not None,
            "message": pruning.pruned_message,
        }

    def train_run(self, trial, repeat, dataset, callbacks=()):
        """Run `repeat` of a trial outside KerasTuner's loop (a race's later
        rounds, a confirmation), built from scratch as a search repeat is
        (tuning/search/hypermodel.py: its seed, the kept model) and trained
        for the search's epochs, a Hyperband trial too; returns
        {"seed", "metrics", "curve"}."""
        hypermodel, hp = self.hypermodel, trial.hyperparameters
        hypermodel.repeat = repeat
        keras.backend.clear_session()  # as KerasTuner does before each build
        model = hypermodel.build(hp)
        recorder = CurveRecorder()
        metrics = hypermodel.fit(
            hp,
            model,
            dataset.x_train,
            dataset.y_train,
            validation_data=(dataset.x_val, dataset.y_val),
            epochs=self.settings.epochs,
            batch_size=self.settings.batch_size,
            callbacks=[recorder, *callbacks],
            verbose=0,
        )
        return {"seed": hypermodel.run_seed, "metrics": metrics, "curve": recorder.curve}

    def keep_best_repeat(self, trial, record):
        """Makes the best repeat's weights the trial's checkpoint (what
        load_model and the export restore) and deletes the others."""
        best = records.best_repeat(record)
        for repeat in record["repeats"]:
            path = records.weights_path(self.project_dir, trial.trial_id, int(repeat))
            if int(repeat) == best and os.path.exists(path):
                checkpoint = compat.checkpoint_path(self, trial.trial_id)
                atomic.write_file(checkpoint, lambda tmp, best_path=path: shutil.copyfile(best_path, tmp))
            if os.path.exists(path):
                os.remove(path)
