"""The `search` command: runs the search its settings describe in this
process (or, with --workers, as a chief and workers), then confirms the
best, writes the table and exports the best models."""

import contextlib
import os
import sys

from tuning import locks
from tuning.errors import SearchStopped
from tuning.errors import UsageError
from tuning.quiet import import_tensorflow_quietly
from tuning.search import pairing

EXPORT_WAIT_SECONDS = 600  # for another search's export into the same folder


def run_search(settings):
    """Runs the search `settings` describe (tuning/settings.py): here, or as
    a chief and workers; then confirms, tabulates and exports."""
    # Before TensorFlow starts, and inherited by every fresh process and worker.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(settings.intra_op_threads)
    if settings.role:
        from tuning.cluster import launcher

        launcher.follow_launcher()  # a chief or worker of --workers N ends with its launcher
    if settings.workers:
        from tuning.cluster import launcher

        with _project_lock(settings) as lock:
            return launcher.launch(settings, lock)
    import_tensorflow_quietly()  # keras.datasets, KerasTuner and everything after need it
    if settings.backend == "torch":
        import torch

        torch.set_num_threads(settings.intra_op_threads)
    if settings.role:
        from tuning.cluster import engine

        engine.configure(settings.role, settings.oracle_address, settings.worker_id, settings.chief_timeout)
    from tuning import data
    from tuning.search import tuners

    if settings.checks_resume:
        tuners.check_project(settings.directory, settings.project, settings.repeats, settings.backend)
    dataset = data.load(settings.dataset, image_size=settings.image_size, seed=settings.seed)
    hypermodel = tuners.build_hypermodel(settings, dataset)  # a bad --model stops here
    paired_by = pairing.from_settings(settings, dataset, hypermodel)
    if settings.checks_resume:
        pairing.check(settings.project_dir, paired_by)
        for note in hypermodel.notes:
            print(note, file=sys.stderr, flush=True)
    with _project_lock(settings) as lock:  # before anything in the project is written or deleted
        return _search(settings, dataset, paired_by, hypermodel, lock)


@contextlib.contextmanager
def _project_lock(settings):
    """One search per project at a time (tuning/locks.py): held by the
    process a user started (a worker takes none: its chief holds it)."""
    if settings.role == "worker":
        yield None
        return
    lock = locks.acquire(
        locks.search_lock(settings.directory, settings.project),
        f"project {settings.project_dir}",
        "wait for that search to end, or use another --project",
    )
    try:
        yield lock
    finally:
        lock.release()


def _search(settings, dataset, paired_by, hypermodel, lock):
    """This process's part of the search, then (but on a worker) the
    confirmation, the table and the export."""
    from tuning.search import confirmation
    from tuning.search import reporting

    try:
        tuner = _run_tuner(settings, dataset, paired_by, hypermodel)
    except reporting.FreshProcess as fresh:
        _continue_in_fresh_process(settings, fresh.args[0], lock)
    if settings.role == "worker":
        print(f"{settings.worker_id}: the chief has no more trials; done", flush=True)
        return 0
    try:
        if settings.prune == "race":
            from tuning.search import race

            race.run_rounds(tuner, dataset)
        if settings.confirm:
            confirmation.train_confirmations(tuner, dataset)
    except reporting.FreshProcess as fresh:
        _continue_in_fresh_process(settings, fresh.args[0], lock)
    return _report_and_export(settings, tuner, dataset)


def _report_and_export(settings, tuner, dataset):
    """Prints the table and the verdict, exports the best models; the exit code."""
    from tuning.export import best_models
    from tuning.search import results

    frame, verdict = tuner.write_results()
    refused = frame[frame["status"] == "REFUSED"]
    for row in refused.to_dict("records"):  # a client of the chief that is not our worker
        print(
            f"error: trial {row['trial_id']} reported {row['message']}; it is not ranked or exported",
            file=sys.stderr,
            flush=True,
        )
    print(f"\n{results.ranked_text(frame)}\n")
    if verdict:
        print(f"{verdict['text']}\n")
    print(
        f"results: {os.path.join(tuner.project_dir, 'results.csv')}, {results.VERDICT_NAME} and results.png"
    )
    if verdict is None:
        raise UsageError(
            "no configuration finished (every trial failed or was pruned), so no model was exported"
        )
    # Two searches of one name (in two --directory) export into one folder: one at a time.
    export_lock = locks.acquire(
        locks.export_lock(settings.export_dir, settings.project),
        f"export folder {os.path.join(settings.export_dir, settings.project)}",
        "its export did not end within 10 minutes; rerun to export",
        wait_seconds=EXPORT_WAIT_SECONDS,
    )
    try:
        folders = best_models.export_best(
            tuner,
            dataset,
            os.path.join(settings.export_dir, settings.project),
            frame,
            verdict,
            settings.export_top,
            settings.command,
            settings.export_formats,
        )
    finally:
        export_lock.release()
    for folder in folders:
        print(f"exported: {folder}")
    return 1 if len(refused) else 0  # a tampered trial is news, even with an export made


def _run_tuner(settings, dataset, paired_by, hypermodel):
    """Builds the tuner (reloading the project unless --overwrite), records
    the settings its trials pair by, and runs this process's part of the
    search."""
    import grpc

    from tuning.search import tuners

    try:
        # A fresh process continuing the search: KerasTuner's "Reloading Tuner" is no news.
        tuner = tuners.build_tuner(settings, dataset, settings.continued is not None, hypermodel)
        if settings.role != "worker":
            pairing.write_record(tuner.project_dir, paired_by)
        tuners.run_trials(tuner, dataset)
    except RuntimeError as error:
        _raise_keras_tuner_error(error, settings)
    except grpc.RpcError as error:  # a worker lost its chief, or the chief refused it
        raise UsageError(_refusal_text(error, settings)) from None
    return tuner


def _refusal_text(error, settings):
    """The one line for a worker's gRPC error."""
    import grpc

    code = error.code()
    chief = f"the chief at {settings.oracle_address}"
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return (
            f"{chief} refused this worker's token (UNAUTHENTICATED): give it the token of the chief now "
            "running (--token-file, or KERAS_LRELU_SEARCH_TOKEN); a restarted chief makes a new one"
        )
    if code in (
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
    ):
        return f"{chief} refused a call ({code.name}): {error.details()}; stopping this worker"
    return f"no answer from {chief} within {settings.chief_timeout:g} s ({code.name}); stopping this worker"


def _continue_in_fresh_process(settings, started, lock):
    """Replaces this process (same pid, same output streams) with a new
    `python -m tuning search ...`, of this very package, that resumes the
    search where it stands, holding the project's lock throughout."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv, env = settings.fresh_process(started)
    if lock is not None:
        env.update(lock.share(owner=lock.owner))
    os.execve(argv[0], argv, env)


def _raise_keras_tuner_error(error, settings):
    """KerasTuner's RuntimeErrors that are not bugs, as our one-line errors;
    any other RuntimeError as it is."""
    from keras_lrelu import _compat as compat

    kind = compat.keras_tuner_error_kind(error)
    if kind == "reload":
        raise UsageError(
            f"cannot resume {settings.project_dir}: KerasTuner cannot "
            "reload it (another tuner, or another version's files); use a new --project or --overwrite"
        ) from None
    if kind == "failures":
        lines = str(error).strip().splitlines()  # the limit, then the last trial's traceback
        raise SearchStopped(f"search stopped: {lines[0]} The last one: {lines[-1].strip()}") from None
    raise error
