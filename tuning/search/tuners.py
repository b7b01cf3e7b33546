"""KerasTuner's tuners, each with repeated trials (tuning/search/trials.py)
and the search's reporting (tuning/search/reporting.py); the project
check, the hypermodel and tuner a search's settings make, and running
its trials: here, as a worker, or as the chief serving its workers."""

import contextlib
import glob
import io
import json
import os
import signal
import threading
import time

import keras
import keras_tuner as kt

from keras_lrelu import _compat as compat
from tuning.cluster import assignments
from tuning.cluster import engine
from tuning.cluster import guard
from tuning.cluster import secret
from tuning.errors import UsageError
from tuning.names import TUNER_NAMES
from tuning.search import records
from tuning.search import user_model
from tuning.search.hypermodel import LeakyCNN
from tuning.search.reporting import SearchReporting
from tuning.search.reporting import clock
from tuning.search.trials import RepeatedTrials
from tuning.search.user_model import UserModel


class RandomSearch(RepeatedTrials, SearchReporting, kt.RandomSearch):
    pass


class BayesianOptimization(RepeatedTrials, SearchReporting, kt.BayesianOptimization):
    pass


class Hyperband(RepeatedTrials, SearchReporting, kt.Hyperband):
    pass


class GridSearch(RepeatedTrials, SearchReporting, kt.GridSearch):
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
    paths += glob.glob(os.path.join(project_dir, "trial_*", records.RECORD_NAME))
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
    assignments.read(project_dir)  # a corrupt record stops here, before any training
    for key, option, wanted in (("planned", "--repeats", repeats_wanted), ("backend", "--backend", backend)):
        recorded = records.recorded_otherwise(project_dir, key, wanted)
        if recorded is not None:
            raise UsageError(
                f"cannot resume {project_dir} with {option} {wanted}: it was searched with "
                f"{option} {recorded}; rerun with {option} {recorded}, or start afresh with --overwrite"
            )


def build_hypermodel(settings, dataset):
    """The search's hypermodel for `dataset`: the suite's CNN, or the
    user's model (`settings.model`; a bad one is a UsageError)."""
    space = dict(
        modes=settings.modes,
        alpha_min=settings.alpha_min,
        alpha_max=settings.alpha_max,
        seed=settings.seed,
        grid=settings.tuner == "grid",
    )
    if settings.model is None:
        return LeakyCNN(dataset.input_shape, dataset.num_classes, pixel_max=dataset.pixel_max, **space)
    return UserModel(user_model.prepare(settings.model, settings.init, dataset, settings.seed), **space)


def build_tuner(settings, dataset, quiet_reload=False, hypermodel=None):
    """The search's tuner (make_tuner) with `hypermodel`, else
    build_hypermodel's; `quiet_reload` hides KerasTuner's "Reloading Tuner" line."""
    if hypermodel is None:
        hypermodel = build_hypermodel(settings, dataset)
    keras.utils.set_random_seed(settings.seed)
    with contextlib.redirect_stdout(io.StringIO()) if quiet_reload else contextlib.nullcontext():
        return make_tuner(settings, hypermodel)


def make_tuner(settings, hypermodel):
    """The KerasTuner tuner `settings.tuner` names, maximising the mean
    val_accuracy over `settings.repeats` runs per configuration; it reloads
    an existing project unless `settings.overwrite`."""
    common = dict(
        # KerasTuner's Oracle reads seed 0 as "no seed" and draws a random
        # one, so every seed is shifted by one to stay reproducible.
        hypermodel=hypermodel,
        objective="val_accuracy",
        seed=settings.seed + 1,
        directory=settings.directory,
        project_name=settings.project,
        overwrite=settings.overwrite,
        settings=settings,
    )
    name, max_trials = settings.tuner, settings.max_trials
    if name == "random":
        return RandomSearch(max_trials=max_trials, **common)
    if name == "bayesian":
        return BayesianOptimization(max_trials=max_trials, **common)
    if name == "grid":
        return GridSearch(max_trials=max_trials, **common)
    if name == "hyperband":
        tuner = Hyperband(max_epochs=max(settings.epochs, 2), factor=3, **common)
        # Hyperband sizes its brackets from max_epochs; the cap keeps
        # --max-trials meaning the same for every tuner.
        tuner.oracle.max_trials = max_trials
        return tuner
    raise ValueError(f"unknown tuner {name!r}; use one of {', '.join(TUNER_NAMES)}")


def run_trials(tuner, dataset):
    """Runs (or continues) the search on the dataset's train/val split, by
    the tuner's settings (their `tls` secures a chief's or worker's connection)."""
    settings = tuner.settings
    tuner.validation_size = len(dataset.y_val)
    if engine.role() == "chief":
        _serve_until_done(tuner)
        return
    if engine.role() == "worker":
        token = secret.for_worker(tuner.project_dir, settings.token_file, settings.chief_timeout)
        credentials = settings.tls.channel_credentials() if settings.tls is not None else None
        compat.connect_client(tuner.oracle, guard.client_metadata(token, settings.worker_id), credentials)
        engine.accept_numeric_trial_ids(tuner.oracle)
    logdir = os.path.join(tuner.project_dir, "tensorboard")
    if engine.role() == "worker":
        # A folder of this process's own: a worker stopped and woken after its trial was handed
        # back writes on, and must not mix its events into the rerun's (one curve each).
        logdir = os.path.join(logdir, f"{tuner.tuner_id}-{os.getpid()}")
    compat.hide_failed_trial_tracebacks()  # on_trial_end prints one line instead
    tuner.search(
        dataset.x_train,
        dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        verbose=0 if settings.quiet else 2,
        # KerasTuner gives each trial its own log folder with its HParams.
        callbacks=[keras.callbacks.TensorBoard(logdir, write_graph=False, profile_batch=0)],
    )


def _serve_until_done(tuner):
    """The chief's part: serve the oracle to holders of the search's secret,
    rewriting results as trials end."""
    settings = tuner.settings
    token, token_path = secret.for_chief(tuner.project_dir, settings.token_file)
    if token_path:
        print(
            f"chief: workers prove they belong to this search with the token in {token_path} (yours only); "
            f"on a host that does not share it, copy it (--token-file) or set {secret.ENV}",
            flush=True,
        )
    start, reported = time.monotonic(), set()
    tuner.oracle.verbose = 0  # one line per ended trial instead of KerasTuner's display

    def tick():
        ended = {tid for tid, t in tuner.oracle.trials.items() if t.status not in ("RUNNING", "IDLE")}
        if ended - reported:
            reported.update(ended)
            tuner.write_progress()
            total = tuner.oracle.max_trials or "?"
            print(
                f"chief: {len(ended)}/{total} trials ended, elapsed {clock(time.monotonic() - start)}",
                flush=True,
            )

    # SIGTERM (kill's default) would end the chief without its finally clauses: ended as
    # Ctrl-C ends it, the token file goes with it. SIGKILL leaves the file, a dead secret
    # (the next chief makes a new one and replaces it).
    main = threading.current_thread() is threading.main_thread()  # where signals can be caught
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main else None
    try:
        engine.serve(tuner, tick, token, settings.trial_timeout, settings.tls)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if token_path:
            secret.remove(token_path, token)  # it opens nothing once the chief is gone


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)
