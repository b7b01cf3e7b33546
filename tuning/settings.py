"""The search's settings: one frozen object, made once from the command
line after every check, and passed down explicitly.

`SearchSettings()` holds the command line's defaults; `from_args` checks a
parsed `search` command and returns the settings it asks for. What another
process of the same search needs (a fresh process that continues it, the
chief and the workers of `--workers`) is serialised from the settings here
and nowhere else: `fresh_process` and `cluster_process`.
"""

import dataclasses
import os
import sys

from tuning import limits
from tuning import paths
from tuning.cluster import secret
from tuning.cluster import tls as tls_files
from tuning.data import sources
from tuning.errors import UsageError
from tuning.export import formats
from tuning.names import COMMAND_ENV
from tuning.names import MODES
from tuning.names import ROUND_WORKERS_ENV
from tuning.verdict import MARGIN_POINTS

# Set in a search process that replaced an earlier one: "<wall-clock start>
# <trials ended before it>" of the command's run, which progress counts from.
STARTED_ENV = "KERAS_LRELU_SEARCH_STARTED"
# Keras and TensorFlow keep 12-15 MB per trained model that no clean-up frees.
TRIALS_PER_PROCESS = 1


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """Everything a search runs by. The fields are the `search` options
    (see `python -m tuning search --help`), checked and normalised, plus
    what the command line knows: `argv` (the search's own arguments, as
    given), `command` (the command as a user would retype it), `continued`
    (STARTED_ENV's value in a fresh process that continues a search),
    `tls` (the certificates read) and `intra_op_threads`."""

    dataset: str = sources.DEFAULT  # tuning.api.search: arrays too
    # None: the suite's CNN; a .keras path (tuning.api.search: a keras.Model or a build function).
    model: object = None
    init: str = "fresh"
    image_size: tuple = None
    tuner: str = "bayesian"
    max_trials: int = 20
    epochs: int = 10
    modes: tuple = MODES
    alpha_min: float = 0.001
    alpha_max: float = 0.5
    seed: int = 0
    repeats: int = 1
    confirm: int = 0
    # auto:K: rounds stop once the verdict is decided; `repeats`/`confirm` is then K.
    repeats_auto: bool = False
    confirm_auto: bool = False
    margin_points: float = MARGIN_POINTS  # --margin
    prune: str = "none"
    batch_size: int = 64
    directory: str = "runs"
    project: str = None
    export_dir: str = "saved_models"
    export_top: int = 1
    export_formats: tuple = dataclasses.field(default_factory=formats.default_names)
    overwrite: bool = False
    quiet: bool = False
    # None: every trial in this process (a caller of main(), or a test).
    trials_per_process: int = None
    threads: int = None
    intra_op_threads: int = None
    workers: int = 0
    role: str = None
    oracle_address: str = None
    worker_id: str = None
    round_workers: int = 0  # the chief of `--workers N`: N processes per race round
    chief_timeout: float = 60.0
    # KerasTuner's client waits an hour for the chief; the chief waits as long for a worker.
    trial_timeout: float = 3600.0
    token_file: str = None
    insecure: bool = False
    tls: object = None
    backend: str = "tensorflow"
    argv: tuple = ()
    command: str = ""
    continued: str = None

    @property
    def project_dir(self):
        return os.path.join(self.directory, self.project)

    @property
    def checks_resume(self):
        """Whether this process checks that the project may be resumed:
        only the process a user started, and not a worker (the chief checks)."""
        return not self.overwrite and self.role != "worker" and self.continued is None

    def fresh_process(self, started):
        """(argv, environment) of a fresh process that continues this
        search where it stands: the same arguments, told when the run started."""
        from tuning import relaunch

        env = relaunch.environment(dict(os.environ, **{STARTED_ENV: started}))
        return relaunch.command("search", *self.argv), env

    def cluster_process(self, address, role, worker_id=None):
        """The argv of the chief or a worker of `--workers N` on this host:
        this search's arguments but --workers, serving or reaching `address`."""
        from tuning import relaunch

        argv = list(_without_workers(self.argv)) + ["--oracle-address", address, "--role", role]
        if worker_id is not None:
            argv += ["--worker-id", worker_id]
        return relaunch.command("search", *argv)


def from_args(args, argv, command, backend, from_command_line=True, model=None, dataset=None):
    """The settings of a parsed `search` command (`args`, its numbers already
    checked by tuning/limits.py), refusing bad ones before anything is
    loaded or written. `argv` is the search's own arguments (after
    "search"), `backend` the one keras_backend.select chose; only a real
    command line (`from_command_line`) may replace its process with a fresh
    one. `model` and `dataset`, given, are Python objects that stand for
    --model and --dataset (tuning.api.search's); `args` is left as parsed."""
    model = args.model if model is None else model
    dataset = args.dataset if dataset is None else dataset
    _check_backend(args, backend)
    if args.role and not args.oracle_address:
        raise UsageError(f"--role {args.role} needs --oracle-address HOST:PORT")
    if args.workers and args.role:
        raise UsageError("--workers starts its own chief and workers; leave out --role")
    tls = tls_files.read_credentials(args.role, args.tls_cert, args.tls_key, args.tls_ca)
    if args.token_file is not None and not args.role:
        raise UsageError(
            "--token-file goes with --role chief or --role worker (--workers hands its own workers the token)"
        )
    if args.token_file is not None and args.role == "chief" and not os.environ.get(secret.ENV):
        secret.check_replaceable(args.token_file)
    if args.role == "chief":
        from tuning.cluster.engine import parse_address

        warning = tls_files.check_exposure(*parse_address(args.oracle_address), tls, args.insecure)
        if warning:
            print(warning, file=sys.stderr, flush=True)
    if args.tuner == "hyperband" and args.repeats > 1:
        raise UsageError(
            f"--repeats {args.repeats} with --tuner hyperband: a continued Hyperband trial starts from its "
            "parent's best repeat, so its repeats would share one starting point; use --repeats 1 with "
            "hyperband (--confirm K still retests the winner on fresh repeats), or another tuner"
        )
    repeats_auto, confirm_auto, prune = _sequential(args)
    _check_model(args, model, dataset)
    if not args.alpha_min < args.alpha_max:
        raise UsageError(f"need --alpha-min < --alpha-max, got {args.alpha_min} and {args.alpha_max}")
    modes = _modes(args.modes)
    export_formats = tuple(formats.parse(args.export_formats))
    project = args.project
    if project is None:  # tuning.api.search's data= may be arrays
        project = limits.default_project(dataset if isinstance(dataset, str) else "arrays")
    limits.check_plain_name(project)
    if args.worker_id is not None:
        limits.check_plain_name(args.worker_id, "--worker-id")
    if args.overwrite and args.role != "worker":
        paths.check_overwrite(os.path.join(args.directory, project))
    if args.role != "worker":
        for rank in range(1, args.export_top + 1):
            paths.check_export_target(paths.export_folder(os.path.join(args.export_dir, project), rank))
    continued = os.environ.get(STARTED_ENV) or None
    if args.role == "chief" and os.environ.get(COMMAND_ENV):
        command = os.environ[COMMAND_ENV]
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(SearchSettings)
        if hasattr(args, field.name)
    }  # the options as parsed; what is worked out replaces them
    return SearchSettings(
        **dict(
            given,
            model=model,
            dataset=dataset,
            image_size=tuple(args.image_size) if args.image_size else None,
            init=args.init or "fresh",
            repeats=int(args.repeats),
            margin_points=args.margin,
            confirm=int(args.confirm),
            repeats_auto=repeats_auto,
            confirm_auto=confirm_auto,
            prune=prune,
            modes=modes,
            project=project,
            export_formats=export_formats,
            # Only the chief may clear the shared project; a fresh process resumes.
            overwrite=args.overwrite and args.role != "worker" and continued is None,
            trials_per_process=args.trials_per_process if from_command_line else None,
            intra_op_threads=limits.intra_op_threads(args.threads),
            tls=tls,
            backend=backend,
            argv=tuple(argv),
            command=command,
            continued=continued,
            round_workers=_round_workers(args.role),
        )
    )


def _check_model(args, model, dataset):
    """What can be told of `--model` and `--init` before anything loads."""
    for name, value in (("model", model), ("data", dataset)):
        if value is not None and not isinstance(value, str) and (args.workers or args.role):
            raise UsageError(
                f"{name}= given as a Python object lives in this process only: workers need "
                f"{name}= as a path (or a dataset's name), which each worker loads"
            )
    if model is None:
        if args.init:
            raise UsageError(
                f"--init {args.init} is for --model FILE.keras; the suite's CNN always starts fresh"
            )
        return
    if not isinstance(model, str):  # tuning.api.search's model= object
        return
    if not os.path.isfile(model):
        what = "no such file" if not os.path.exists(model) else "not a file"
        raise UsageError(f"--model {model}: {what}")
    if not model.endswith(".keras"):
        raise UsageError(f"--model {model}: not a .keras file (save one with model.save('model.keras'))")


def _round_workers(role):
    """The processes per race round a `--workers N` launcher gave its chief (0: none)."""
    text = os.environ.get(ROUND_WORKERS_ENV, "")
    if role != "chief" or not text.isdigit():
        return 0
    return min(int(text), limits.WORKERS_MAX)


def _sequential(args):
    """(repeats_auto, confirm_auto, prune) of the parsed options, refusing
    what cannot pair; a race Hyperband cannot run falls back, in one line."""
    repeats_auto = isinstance(args.repeats, limits.AutoCount)
    confirm_auto = isinstance(args.confirm, limits.AutoCount)
    if repeats_auto and args.prune != "race":
        raise UsageError("--repeats auto:K adds rounds to a race: use it with --prune race")
    if repeats_auto and args.confirm:
        raise UsageError(
            "--repeats auto:K decides on the search's repeats, --confirm on fresh ones: use one "
            "(--confirm auto:K with a whole --repeats stops the confirmation once decided)"
        )
    prune = args.prune
    if prune == "race" and args.tuner == "hyperband":
        print(
            "--prune race: Hyperband trains its configurations for different epochs, so no round "
            "pairs them; racing none (as --prune none)",
            file=sys.stderr,
            flush=True,
        )
        prune = "none"
    return repeats_auto, confirm_auto, prune


def _modes(text):
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise UsageError(f"unknown mode {', '.join(unknown) or repr(text)}; use {','.join(MODES)}")
    return tuple(dict.fromkeys(modes))


def _check_backend(args, backend):
    """What runs on TensorFlow alone is refused on another backend."""
    if backend == "tensorflow":
        return
    for option, given in (("--workers", args.workers), ("--role", args.role)):
        if given:
            raise UsageError(
                f"{option} runs on the tensorflow backend only (--backend tensorflow); this search is on {backend}"
            )
    if backend == "jax" and args.threads is not None:
        raise UsageError(
            "--threads sets TensorFlow's or PyTorch's threads per operation; JAX has no such "
            "setting: leave it out, or use --backend tensorflow or torch"
        )


def _without_workers(argv):
    """The search's arguments without --workers, for the processes it starts."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept
