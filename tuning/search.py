"""Choosing and running a KerasTuner tuner, with a line of progress per trial."""

import glob
import json
import os
import shutil
import time

import keras
import keras_tuner as kt

from keras_lrelu import _compat as compat
from tuning import atomic
from tuning import distributed
from tuning import repeats
from tuning import results
from tuning import verdict
from tuning.errors import UsageError
from tuning.names import TUNER_NAMES


# Set in a search process that replaced an earlier one (see FreshProcess):
# "<wall-clock start> <trials ended before it>" of the command's run, which
# progress lines count from.
STARTED_ENV = "KERAS_LRELU_SEARCH_STARTED"


class FreshProcess(Exception):
    """Raised after a process has run its share of trials, so that the
    command line replaces it with a fresh process that resumes the search:
    TensorFlow and Keras keep 12-15 MB per model built and trained that no
    in-process clean-up frees. `args[0]` is the value for STARTED_ENV."""


class _Reporting:
    """Adds to a KerasTuner tuner: `repeats` runs of each configuration with
    optional median pruning (see tuning/repeats.py), one progress line per
    trial instead of KerasTuner's own display, and results.csv/png rewritten
    after every trial, so a stopped search still has its table."""

    def __init__(self, *args, command="", quiet=False, trials_per_process=None,
                 repeats=1, prune="none", confirm=0, margin=verdict.MARGIN_POINTS, **kwargs):
        super().__init__(*args, **kwargs)
        self.command = command
        self.quiet = quiet
        self.trials_per_process = trials_per_process
        self.repeats = repeats
        self.prune = prune
        self.confirm = confirm
        self.margin = margin
        self.validation_size = None  # set by `run`, for records that predate it
        self._search_start = None
        self._ended_before = 0  # trials this run of the command did not run
        self._trials_here = 0

    def on_search_begin(self):
        super().on_search_begin()
        self.oracle.verbose = 0
        continued = os.environ.get(STARTED_ENV)
        if continued:
            start, ended = continued.split()
            self._search_start, self._ended_before = float(start), int(ended)
        else:
            self._search_start = time.time()
            if distributed.role() != "worker":  # a worker's client has no trials
                self._ended_before = len(self.oracle.trials)
            if not self.quiet:
                print(f"training on Keras {keras.__version__}'s {keras.backend.backend()} backend", flush=True)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if distributed.role() is None:  # the chief records its workers' trials
            distributed.record_worker(self.project_dir, trial.trial_id, self.tuner_id)
        if not self.quiet:
            print(self._progress_line(trial), flush=True)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self._trials_here += 1
        if trial.status != "COMPLETED":
            # One line instead of KerasTuner's traceback; results.csv keeps it.
            print(f"trial {trial.trial_id} {trial.status}: {results.last_line(trial.message)}", flush=True)
        if distributed.role() is None:  # a worker's client has no trials to tabulate
            results.write(self, self.command)
        if self.trials_per_process and self._trials_here >= self.trials_per_process:
            if distributed.role() == "worker" or len(self.oracle.trials) < self.oracle.max_trials:
                raise FreshProcess(f"{self._search_start!r} {self._ended_before}")

    def run_trial(self, trial, *args, **kwargs):
        """Trains the configuration `self.repeats` times, skipping the repeats
        a stopped run of this trial already recorded, and no further once a
        repeat is pruned. Returns the means over its runs (the objective, so
        KerasTuner ranks configurations by mean); the trial's checkpoint is
        the best epoch of its best repeat."""
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:  # Hyperband's bracket, as kt.Hyperband.run_trial sets it
            kwargs.update(epochs=values["tuner/epochs"], initial_epoch=values["tuner/initial_epoch"])
        callbacks = kwargs.pop("callbacks", [])
        record = repeats.load(self.project_dir, trial.trial_id)
        record["planned"] = self.repeats
        record["backend"] = keras.backend.backend()
        record["validation_size"] = len(kwargs["validation_data"][1])
        for repeat in range(self.repeats):
            if repeats.pruned(record):
                break
            if str(repeat) not in record["repeats"]:
                earlier = [run["curve"] for run in repeats.ordered(record)]
                record["repeats"][str(repeat)] = self._run_repeat(trial, repeat, earlier, callbacks, args, kwargs)
                repeats.save(self.project_dir, trial.trial_id, record)
        self._keep_best_repeat(trial, record)
        return repeats.summary(record)

    def _run_repeat(self, trial, repeat, earlier, callbacks, args, kwargs):
        monitor = repeats.RepeatMonitor(
            self.project_dir, trial.trial_id, repeat, earlier, prune=self.prune == "median",
            last=repeat == self.repeats - 1, margin=self.margin / 100,
        )
        weights = repeats.weights_path(self.project_dir, trial.trial_id, repeat)
        callbacks = compat.execution_callbacks(self, trial, callbacks, repeat, weights)
        self.hypermodel.repeat = repeat
        metrics = compat.build_and_fit(self, trial, *args, callbacks=[monitor, *callbacks], **kwargs)
        return {
            "seed": self.hypermodel.run_seed, "metrics": metrics, "curve": monitor.curve,
            "pruned": monitor.pruned_message is not None, "message": monitor.pruned_message,
        }

    def _keep_best_repeat(self, trial, record):
        """Makes the best repeat's weights the trial's checkpoint (what
        load_model and the export restore) and deletes the others."""
        best = repeats.best_repeat(record)
        for repeat in record["repeats"]:
            path = repeats.weights_path(self.project_dir, trial.trial_id, int(repeat))
            if int(repeat) == best and os.path.exists(path):
                checkpoint = compat.checkpoint_path(self, trial.trial_id)
                atomic.write_file(checkpoint, lambda tmp: shutil.copyfile(path, tmp))
            if os.path.exists(path):
                os.remove(path)

    def _progress_line(self, trial):
        total = self.oracle.max_trials
        elapsed = time.time() - self._search_start
        hyperparameters = describe(trial.hyperparameters.values)
        if distributed.role() == "worker":  # its client knows no other trials
            # Trial ids count from 0; progress counts from 1, as in one process.
            line = f"trial {int(trial.trial_id) + 1} (of {total})  {hyperparameters}  elapsed {clock(elapsed)}"
        else:
            number = len(self.oracle.trials)
            line = f"trial {number}/{total or '?'}  {hyperparameters}  elapsed {clock(elapsed)}"
            ended_here = number - 1 - self._ended_before  # by this run of the command
            if total and ended_here > 0:
                line += f", about {clock(elapsed / ended_here * (total - number + 1))} left"
        if self._trials_here == 0 and os.environ.get(STARTED_ENV):
            line += "  (fresh process)"
        return line


class RandomSearch(_Reporting, kt.RandomSearch):
    pass


class BayesianOptimization(_Reporting, kt.BayesianOptimization):
    pass


class Hyperband(_Reporting, kt.Hyperband):
    pass


class GridSearch(_Reporting, kt.GridSearch):
    def reload(self):
        super().reload()
        compat.rebuild_grid_order(self.oracle)  # else a resumed grid stops after one trial


def check_project(directory, project, repeats_wanted=1, backend="tensorflow"):
    """Refuses to resume from a project whose state files do not parse,
    naming the file, instead of failing deep inside KerasTuner's reload, or
    one searched with another --repeats or on another backend (its pairs
    would not match)."""
    project_dir = os.path.join(directory, project)
    paths = glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))
    paths += glob.glob(os.path.join(project_dir, "trial_*", repeats.RECORD_NAME))
    paths += [os.path.join(project_dir, name) for name in ("oracle.json", "tuner0.json")]
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                json.load(f)
        except (OSError, ValueError) as error:
            raise UsageError(
                f"cannot resume: {path} is corrupt ({error}); remove that file's trial "
                "folder, or start afresh with --overwrite"
            ) from None
    distributed.read_workers(project_dir)  # a corrupt record stops here, before any training
    for key, option, wanted in (("planned", "--repeats", repeats_wanted), ("backend", "--backend", backend)):
        recorded = repeats.recorded_otherwise(project_dir, key, wanted)
        if recorded is not None:
            raise UsageError(
                f"cannot resume {project_dir} with {option} {wanted}: it was searched with "
                f"{option} {recorded}; rerun with {option} {recorded}, or start afresh with --overwrite"
            )


def make_tuner(name, hypermodel, max_trials, epochs, seed, directory, project,
               overwrite=False, command="", quiet=False, trials_per_process=None,
               repeats=1, prune="none", confirm=0, margin=verdict.MARGIN_POINTS):
    """A KerasTuner tuner maximising the mean val_accuracy over `repeats`
    runs per configuration (pruned by `prune`, below the median by more than
    `margin` points), whose best `confirm` retrains (tuning/confirm.py); it
    reloads an existing project unless `overwrite`. With
    `trials_per_process`, it raises FreshProcess after that many trials if
    more are to come."""
    common = dict(
        # KerasTuner's Oracle reads seed 0 as "no seed" and draws a random
        # one, so every seed is shifted by one to stay reproducible.
        hypermodel=hypermodel, objective="val_accuracy", seed=seed + 1,
        directory=directory, project_name=project, overwrite=overwrite,
        command=command, quiet=quiet, trials_per_process=trials_per_process,
        repeats=repeats, prune=prune, confirm=confirm, margin=margin,
    )
    if name == "random":
        return RandomSearch(max_trials=max_trials, **common)
    if name == "bayesian":
        return BayesianOptimization(max_trials=max_trials, **common)
    if name == "grid":
        return GridSearch(max_trials=max_trials, **common)
    if name == "hyperband":
        tuner = Hyperband(max_epochs=max(epochs, 2), factor=3, **common)
        # Hyperband sizes its brackets from max_epochs; the cap keeps
        # --max-trials meaning the same for every tuner.
        tuner.oracle.max_trials = max_trials
        return tuner
    raise ValueError(f"unknown tuner {name!r}; use one of {', '.join(TUNER_NAMES)}")


def run(tuner, dataset, epochs, batch_size, quiet=False, tls=None):
    """Runs (or continues) the search on the dataset's train/val split;
    `tls` (a `tuning.tls.TLS`) secures a chief's or worker's connection."""
    tuner.validation_size = len(dataset.y_val)
    if distributed.role() == "chief":
        _serve_until_done(tuner, tls)
        return
    if distributed.role() == "worker":
        if tls is not None:
            compat.use_secure_channel(tuner.oracle, tls.channel_credentials())
        distributed.accept_numeric_trial_ids(tuner.oracle)
    logdir = os.path.join(tuner.project_dir, "tensorboard")
    compat.hide_failed_trial_tracebacks()  # on_trial_end prints one line instead
    tuner.search(
        dataset.x_train, dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=epochs, batch_size=batch_size, verbose=0 if quiet else 2,
        # KerasTuner gives each trial its own log folder with its HParams.
        callbacks=[keras.callbacks.TensorBoard(logdir, write_graph=False, profile_batch=0)],
    )


def _serve_until_done(tuner, tls):
    """The chief's part: serve the oracle, rewriting results as trials end."""
    start, reported = time.monotonic(), set()
    tuner.oracle.verbose = 0  # one line per ended trial instead of KerasTuner's display

    def tick():
        ended = {tid for tid, t in tuner.oracle.trials.items() if t.status not in ("RUNNING", "IDLE")}
        if ended - reported:
            reported.update(ended)
            results.write(tuner, tuner.command)
            total = tuner.oracle.max_trials or "?"
            print(f"chief: {len(ended)}/{total} trials ended, elapsed {clock(time.monotonic() - start)}",
                  flush=True)

    distributed.serve(tuner, tick, tls)


def describe(values):
    """`mode=fixed alpha=0.0123 ...` for a trial's hyperparameters."""
    first = [k for k in ("mode", "alpha") if k in values]
    rest = sorted(k for k in values if k not in first and not k.startswith("tuner/"))
    shown = {k: values[k] for k in first + rest}
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
    )


def clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"
