"""The search's reporting, mixed into each of KerasTuner's tuners
(tuning/search/tuners.py): a line of progress per trial, results.csv
rewritten after every trial (results.png when due), a worker's heartbeat,
and a fresh process after `--trials-per-process` trials."""

import time

import keras

from tuning.cluster import assignments
from tuning.cluster import engine
from tuning.cluster import heartbeat
from tuning.search import results
from tuning.search.hypermodel import hyperparameter_text

# While a search runs, results.png is redrawn at most this often (drawing it costs about as
# much as training a one-epoch trial on digits); results.csv is rewritten after every trial.
PLOT_SECONDS = 30


class FreshProcess(Exception):
    """Raised after a process has run its share of trials, so that the
    command line replaces it with a fresh process that resumes the search:
    TensorFlow and Keras keep 12-15 MB per model built and trained that no
    in-process clean-up frees. `args[0]` is the value for
    tuning.settings.STARTED_ENV."""


class SearchReporting:
    """Mixed into a KerasTuner tuner: one progress line per trial instead of
    KerasTuner's own display, the results table rewritten after every
    trial (so a stopped search still has its table), and FreshProcess once
    this process ran `settings.trials_per_process` trials."""

    def __init__(self, *args, settings, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.validation_size = None  # set by `run_trials`, for records that predate it
        self._search_start = None
        self._ended_before = 0  # trials this run of the command did not run
        self._trials_here = 0
        self._heartbeat = None  # a worker's, while it trains a trial
        self._plotted = time.monotonic()

    def write_results(self, plot=True):
        """Rewrites results.csv, verdict.json and (with `plot`) results.png; returns (frame, verdict)."""
        if plot:
            self._plotted = time.monotonic()
        return results.write_results(
            self.project_dir,
            self.oracle.trials,
            self.settings,
            self.hypermodel.outside_space,
            self.validation_size,
            plot,
        )

    def write_progress(self, last=False):
        """`write_results` as the search goes: results.png is redrawn once
        PLOT_SECONDS have passed since this process last drew it, or with
        `last` (its last trial); the search's end draws it again."""
        return self.write_results(plot=last or time.monotonic() - self._plotted >= PLOT_SECONDS)

    def on_search_begin(self):
        super().on_search_begin()
        self.oracle.verbose = 0
        if self.settings.continued:
            start, ended = self.settings.continued.split()
            self._search_start, self._ended_before = float(start), int(ended)
        else:
            self._search_start = time.time()
            if engine.role() != "worker":  # a worker's client has no trials
                self._ended_before = len(self.oracle.trials)
            if not self.settings.quiet:
                print(
                    f"training on Keras {keras.__version__}'s {keras.backend.backend()} backend", flush=True
                )

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if engine.role() == "worker":
            timeout = self.settings.trial_timeout
            self._heartbeat = heartbeat.Heartbeat(
                self.oracle, trial.trial_id, heartbeat.interval(timeout), timeout
            ).start()
        if engine.role() is None:  # the chief records its workers' trials
            assignments.record(self.project_dir, trial.trial_id, self.tuner_id)
        if not self.settings.quiet:
            print(self._progress_line(trial), flush=True)

    def on_trial_end(self, trial):
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        super().on_trial_end(trial)
        self._trials_here += 1
        if trial.status != "COMPLETED":
            # One line instead of KerasTuner's traceback; results.csv keeps it.
            print(f"trial {trial.trial_id} {trial.status}: {results.last_line(trial.message)}", flush=True)
        if engine.role() is None:  # a worker's client has no trials to tabulate
            maximum = self.oracle.max_trials
            self.write_progress(last=maximum is not None and len(self.oracle.trials) >= maximum)
        every = self.settings.trials_per_process
        if every and self._trials_here >= every:
            if engine.role() == "worker" or len(self.oracle.trials) < self.oracle.max_trials:
                raise FreshProcess(f"{self._search_start!r} {self._ended_before}")

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs)
        if engine.role() == "worker":
            # KerasTuner's workers tell the chief nothing until a trial ends; this tells the
            # heartbeat that training is not hung (--trial-timeout), and stops a worker whose
            # trial was handed back.
            self._heartbeat.progressed()
            self.oracle.get_trial(trial.trial_id)

    def _progress_line(self, trial):
        total = self.oracle.max_trials
        elapsed = time.time() - self._search_start
        hyperparameters = hyperparameter_text(trial.hyperparameters.values)
        if engine.role() == "worker":  # its client knows no other trials
            # Trial ids count from 0; progress counts from 1, as in one process.
            line = (
                f"trial {int(trial.trial_id) + 1} (of {total})  {hyperparameters}  elapsed {clock(elapsed)}"
            )
        else:
            number = len(self.oracle.trials)
            line = f"trial {number}/{total or '?'}  {hyperparameters}  elapsed {clock(elapsed)}"
            ended_here = number - 1 - self._ended_before  # by this run of the command
            if total and ended_here > 0:
                line += f", about {clock(elapsed / ended_here * (total - number + 1))} left"
        if self._trials_here == 0 and self.settings.continued:
            line += "  (fresh process)"
        return line


def clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"
