"""The `search` command: checks its arguments, then runs the search in
this process (or, with --workers, as a chief and workers) and exports the
best models."""

import contextlib
import io
import os
import sys

from tuning import limits
from tuning import pairing
from tuning import paths
from tuning import relaunch
from tuning import tls
from tuning.errors import SearchStopped
from tuning.errors import UsageError
from tuning.formats import parse as parse_formats
from tuning.names import MODES
from tuning.quiet import import_tensorflow_quietly

def _without_workers(argv):
    """The search's arguments without --workers, for the processes it starts."""
    kept, skip = [], False
    for arg in argv[1:]:  # argv[0] is "search"
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept


def check_search_args(args):
    """Refuses bad arguments before anything is loaded or written (numbers:
    tuning/limits.py, already checked)."""
    _check_backend(args)
    if args.role and not args.oracle_address:
        raise UsageError(f"--role {args.role} needs --oracle-address HOST:PORT")
    args.tls = tls.from_args(args.role, args.tls_cert, args.tls_key, args.tls_ca)
    if args.role == "chief":
        from tuning.distributed import parse_address

        warning = tls.check_exposure(*parse_address(args.oracle_address), args.tls, args.insecure)
        if warning:
            print(warning, file=sys.stderr, flush=True)
    if args.tuner == "hyperband" and args.repeats > 1:
        raise UsageError(
            f"--repeats {args.repeats} with --tuner hyperband: a continued Hyperband trial starts from its "
            "parent's best repeat, so its repeats would share one starting point; use --repeats 1 with "
            "hyperband (--confirm K still retests the winner on fresh repeats), or another tuner"
        )
    if not args.alpha_min < args.alpha_max:
        raise UsageError(f"need --alpha-min < --alpha-max, got {args.alpha_min} and {args.alpha_max}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise UsageError(f"unknown mode {', '.join(unknown) or repr(args.modes)}; use {','.join(MODES)}")
    args.modes = list(dict.fromkeys(modes))
    args.export_formats = parse_formats(args.export_formats)
    if args.project is None:
        args.project = limits.default_project(args.dataset)
    limits.check_plain_name(args.project)
    if args.worker_id is not None:
        limits.check_plain_name(args.worker_id, "--worker-id")
    if args.overwrite and args.role != "worker":
        paths.check_overwrite(os.path.join(args.directory, args.project))
    if args.role != "worker":
        for rank in range(1, args.export_top + 1):
            paths.check_export_target(paths.export_folder(os.path.join(args.export_dir, args.project), rank))


def _check_backend(args):
    """What runs on TensorFlow alone is refused on another backend."""
    if args.backend == "tensorflow":
        return
    for option, given in (("--workers", args.workers), ("--role", args.role)):
        if given:
            raise UsageError(
                f"{option} runs on the tensorflow backend only (--backend tensorflow); this search is on {args.backend}"
            )
    if args.backend == "jax" and args.threads is not None:
        raise UsageError("--threads sets TensorFlow's or PyTorch's threads per operation; JAX has no such "
                         "setting: leave it out, or use --backend tensorflow or torch")


def run_search(args, command):
    check_search_args(args)
    threads = limits.intra_op_threads(args.threads)
    # Before TensorFlow starts, and inherited by every fresh process and worker.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    if args.workers:
        from tuning import distributed

        if args.role:
            raise UsageError("--workers starts its own chief and workers; leave out --role")
        return distributed.launch(_without_workers(args.argv), args.workers)
    import_tensorflow_quietly()  # keras.datasets, KerasTuner and everything after need it
    if args.backend == "torch":
        import torch

        torch.set_num_threads(threads)
    if args.role:
        from tuning import distributed

        distributed.configure(args.role, args.oracle_address, args.worker_id, args.chief_timeout)
    from tuning import confirm
    from tuning import data
    from tuning import export
    from tuning import results
    from tuning import search

    resuming = not args.overwrite
    if args.role == "worker" or os.environ.get(search.STARTED_ENV):
        args.overwrite = False  # only the chief may clear the shared project; a fresh process resumes
        resuming = False  # checked by the process that started the search
    elif resuming:
        search.check_project(args.directory, args.project, args.repeats, args.backend)
    dataset = data.load(args.dataset, image_size=args.image_size, seed=args.seed)
    paired_by = pairing.settings(args, dataset, None if args.backend == "jax" else threads)
    if resuming:
        pairing.check(os.path.join(args.directory, args.project), paired_by)
    try:
        tuner = _run_tuner(args, dataset, command, paired_by)
    except search.FreshProcess as fresh:
        _continue_in_fresh_process(args.argv, fresh.args[0])
    if args.role == "worker":
        print(f"{args.worker_id}: the chief has no more trials; done", flush=True)
        return 0
    if args.confirm:
        confirm.run(tuner, dataset, args.epochs, args.batch_size, args.confirm, quiet=args.quiet)
    frame, verdict = results.write(tuner, command)
    refused = frame[frame["status"] == "REFUSED"]
    for row in refused.to_dict("records"):  # a client of the chief that is not our worker
        print(f"error: trial {row['trial_id']} reported {row['message']}; it is not ranked or exported",
              file=sys.stderr, flush=True)
    print(f"\n{results.summary(frame)}\n")
    if verdict:
        print(f"{verdict['text']}\n")
    print(f"results: {os.path.join(tuner.project_dir, 'results.csv')}, {results.VERDICT_NAME} and results.png")
    if verdict is None:
        raise UsageError("no configuration finished (every trial failed or was pruned), so no model was exported")
    folders = export.export_best(
        tuner, dataset, os.path.join(args.export_dir, args.project), frame, verdict,
        args.export_top, command, args.export_formats,
    )
    for folder in folders:
        print(f"exported: {folder}")
    return 1 if len(refused) else 0  # a tampered trial is news, even with an export made

def _run_tuner(args, dataset, command, paired_by):
    """Builds the tuner (reloading the project unless --overwrite), records
    the settings its trials pair by, and runs this process's part of the
    search."""
    import grpc
    import keras

    from tuning import search
    from tuning.hypermodel import LeakyCNN

    keras.utils.set_random_seed(args.seed)
    hypermodel = LeakyCNN(
        dataset.input_shape, dataset.num_classes, pixel_max=dataset.pixel_max,
        modes=args.modes, alpha_min=args.alpha_min, alpha_max=args.alpha_max, seed=args.seed,
        grid=args.tuner == "grid",
    )
    try:
        # A fresh process continuing the search: KerasTuner's "Reloading Tuner" is no news.
        continuing = os.environ.get(search.STARTED_ENV)
        with contextlib.redirect_stdout(io.StringIO()) if continuing else contextlib.nullcontext():
            tuner = search.make_tuner(
                args.tuner, hypermodel, args.max_trials, args.epochs, args.seed,
                args.directory, args.project, overwrite=args.overwrite, command=command,
                quiet=args.quiet, repeats=args.repeats, prune=args.prune, confirm=args.confirm,
                margin=args.margin,
                # Only a real command line may replace its process, not a caller of main().
                trials_per_process=args.trials_per_process if args.from_command_line else None,
            )
        if args.role != "worker":
            pairing.record(tuner.project_dir, paired_by)
        search.run(tuner, dataset, args.epochs, args.batch_size, quiet=args.quiet, tls=args.tls)
    except RuntimeError as error:
        _raise_keras_tuner_error(error, args)
    except grpc.RpcError as error:  # a worker lost its chief
        raise UsageError(
            f"no answer from the chief at {args.oracle_address} within "
            f"{args.chief_timeout:g} s ({error.code().name}); stopping this worker"
        ) from None
    return tuner


def _continue_in_fresh_process(argv, started):
    """Replaces this process (same pid, same output streams) with a new
    `python -m tuning ARGV`, of this very package, that resumes the search
    where it stands."""
    from tuning import search

    sys.stdout.flush()
    sys.stderr.flush()
    env = relaunch.environment(dict(os.environ, **{search.STARTED_ENV: started}))
    argv = relaunch.command(*argv)
    os.execve(argv[0], argv, env)

def _raise_keras_tuner_error(error, args):
    """KerasTuner's RuntimeErrors that are not bugs, as our one-line errors;
    any other RuntimeError as it is."""
    from keras_lrelu import _compat as compat

    kind = compat.keras_tuner_error_kind(error)
    if kind == "reload":
        raise UsageError(
            f"cannot resume {os.path.join(args.directory, args.project)}: KerasTuner cannot "
            "reload it (another tuner, or another version's files); use a new --project or --overwrite"
        ) from None
    if kind == "failures":
        lines = str(error).strip().splitlines()  # the limit, then the last trial's traceback
        raise SearchStopped(
            f"search stopped: {lines[0]} The last one: {lines[-1].strip()}"
        ) from None
    raise error

