"""Command line: `python -m tuning search|predict ...` (also `lrelu-tune`)."""

import argparse
import os
import shlex
import sys

from tuning import keras_backend
from tuning import limits
from tuning import settings as search_settings
from tuning.data import sources
from tuning.errors import SearchStopped
from tuning.errors import UsageError
from tuning.export import formats
from tuning.limits import WORKERS_MAX
from tuning.limits import check_numbers
from tuning.names import INIT_CHOICES
from tuning.names import MODES
from tuning.names import TUNER_NAMES
from tuning.quiet import import_tensorflow_quietly
from tuning.quiet import native_stderr_silenced
from tuning.search import pruners
from tuning.search.pruners import PRUNERS
from tuning.verdict import CONFIRMED_LEAKY
from tuning.verdict import MARGIN_POINTS
from tuning.verdict import stats

DEFAULTS = search_settings.SearchSettings()


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one `error:` line and exit code 2, no usage dump."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


class _RaisingParser(_Parser):
    """tuning.api's parser: a bad setting raises the error line's text."""

    def error(self, message):
        raise UsageError(message)


def parse_search(argv):
    """The parsed and number-checked `search` arguments `argv` (after
    "search"), for tuning.api: a bad one is a UsageError with the command
    line's text. Every option `--x-y` is `args.x_y`."""
    args = build_parser(_RaisingParser).parse_args(["search", *argv])
    check_numbers("search", args)
    return args


# The parser reads as a table of options, one option to a few lines: the formatter leaves it so.
# fmt: off
def build_parser(parser_class=_Parser):
    parser = parser_class(
        prog="python -m tuning",
        description="Search the Leaky ReLU slope (alpha) of a small CNN with KerasTuner, "
        "export the best model, and classify images with it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_search(commands)
    _add_studies(commands)
    verdict = commands.add_parser(
        "verdict", help="recompute and print the verdict of a search from its results.csv",
        description="The search's verdict from its results.csv, with the search's own code; imports neither "
        "TensorFlow nor Keras. Reads the columns trial_id, status, mode, alpha, validation_size, "
        "val_accuracy_1..K and confirm_val_accuracy_1..C.",
    )
    verdict.add_argument("results", metavar="RESULTS.csv")
    verdict.add_argument("--margin", type=float, default=None, metavar="POINTS",
                         help="what if the equivalence margin (accuracy points) were this one; default: the "
                         f"margin results.csv records (a table that records none: {MARGIN_POINTS:g})")
    verdict.add_argument("--json", metavar="FILE", help="also write the verdict's numbers to FILE")
    verdict.set_defaults(run=run_verdict)
    predict = commands.add_parser(
        "predict", help="classify PNG/JPEG/BMP/GIF images with an exported model (no keras_lrelu needed)",
        description="Classify images with an export of `search`. A model file is a program: loading it runs "
        "its graph with your rights. Run only models you exported yourself or got from someone you trust; "
        "the sha256 in model_card.json catches a swapped or damaged file, not a card rewritten to match.",
    )
    predict.add_argument("model", help="an export folder (its SavedModel), e.g. saved_models/alpha-mnist5k/best, "
                         "or the .tflite, .onnx or .keras file in one")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.set_defaults(run=run_predict)
    return parser


def _add_search(commands):
    search = commands.add_parser(
        "search", help="run (or resume) an alpha search and export the best model",
        description="Run a KerasTuner search over the rectifier (mode and alpha), learning rate "
        "and width of a small CNN, or over the rectifier of your own model (--model). Rerunning the "
        "same command resumes the search.",
    )
    search.add_argument("--dataset", default=DEFAULTS.dataset, metavar="NAME|PATH", help=sources.help_text())
    search.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"),
                        help="resize a folder's images to H x W (default: the first image's size)")
    search.add_argument("--model", metavar="FILE.keras",
                        help="search the rectifier of your own Functional or Sequential model (loaded in Keras's "
                        "safe mode) instead of the suite's CNN: each leaky configuration is the model with its "
                        "ReLUs replaced by keras_lrelu.convert(), ReLU the model as it is; trained with the "
                        "file's compile settings, else the suite's; it gets the images as stored (0 to 255 for "
                        "8-bit images), and must end in a softmax over the dataset's classes")
    search.add_argument("--init", choices=INIT_CHOICES,
                        help="with --model: fresh (default) re-initialises the weights from each repeat's seed, "
                        "the same in every configuration; pretrained starts every run from the file's weights "
                        "(fine-tuning)")
    search.add_argument("--tuner", default=DEFAULTS.tuner, choices=TUNER_NAMES,
                        help=f"default: {DEFAULTS.tuner}")
    search.add_argument("--max-trials", type=int, default=DEFAULTS.max_trials, metavar="N",
                        help=f"default: {DEFAULTS.max_trials}")
    search.add_argument("--epochs", type=int, default=DEFAULTS.epochs, metavar="N",
                        help=f"epochs per trial (hyperband: the most any trial gets); default: {DEFAULTS.epochs}")
    search.add_argument("--modes", default=",".join(DEFAULTS.modes),
                        help=f"comma-separated rectifiers to search; default: {','.join(MODES)}")
    search.add_argument("--alpha-min", type=float, default=DEFAULTS.alpha_min,
                        help=f"default: {DEFAULTS.alpha_min}")
    search.add_argument("--alpha-max", type=float, default=DEFAULTS.alpha_max,
                        help=f"default: {DEFAULTS.alpha_max}")
    search.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seeds splits, weights and the tuner")
    search.add_argument("--repeats", type=limits.count_or_auto, default=DEFAULTS.repeats, metavar="K|auto:K",
                        help="train every configuration K times, repeat j from the same seed in every "
                        "configuration; the table gets means with 95%% intervals and a verdict "
                        "(paired tests); auto:K (with --prune race): add rounds until the verdict against "
                        "ReLU is decided, at most K; default: 1")
    search.add_argument("--confirm", type=limits.count_or_auto, default=DEFAULTS.confirm, metavar="K|auto:K",
                        help="after the search, train the best leaky configuration and ReLU K more times "
                        "from seeds no choice used, and decide against ReLU on those runs (at least "
                        f"{stats.fewest_pairs(CONFIRMED_LEAKY)} to decide anything); auto:K: round by round until "
                        "the verdict is decided, at most K; default: 0 (the verdict is then computed "
                        "on the repeats that chose the best, and says so)")
    search.add_argument("--margin", type=float, default=DEFAULTS.margin_points, metavar="POINTS",
                        help="accuracy points within which two configurations count as equivalent, and by which "
                        f"a pruned one must trail the median; default: {MARGIN_POINTS:g}")
    search.add_argument("--prune", default=DEFAULTS.prune, choices=tuple(PRUNERS),
                        help=pruners.help_text(DEFAULTS.prune))
    search.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, metavar="N",
                        help=f"default: {DEFAULTS.batch_size}")
    search.add_argument("--directory", default=DEFAULTS.directory,
                        help=f"where trials live; default: {DEFAULTS.directory}")
    search.add_argument("--project", help="project name; default: alpha-<dataset>")
    search.add_argument("--export-dir", default=DEFAULTS.export_dir,
                        help=f"exports go to EXPORT_DIR/PROJECT/best; default: {DEFAULTS.export_dir}")
    search.add_argument("--export-top", type=int, default=DEFAULTS.export_top, metavar="K",
                        help=f"also export rank-2 ... rank-K; default: {DEFAULTS.export_top}")
    search.add_argument("--export-formats", default=",".join(DEFAULTS.export_formats), metavar="LIST",
                        help=formats.help_text())
    search.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    search.add_argument("--quiet", action="store_true", help="no per-trial or per-epoch progress")
    search.add_argument("--trials-per-process", type=int, default=search_settings.TRIALS_PER_PROCESS, metavar="K",
                        help="train at most K trials in one process, then go on in a fresh one, so memory stays "
                        f"flat in a long search; 0: all in one; default: {search_settings.TRIALS_PER_PROCESS}")
    search.add_argument("--threads", type=int, metavar="N",
                        help="TensorFlow's threads per operation (intra-op) in every process and worker; "
                        "TensorFlow's CPU kernels split their sums by it, so a trial's numbers depend on it "
                        "and on nothing else of the layout; default: TF_NUM_INTRAOP_THREADS if set, else "
                        f"the CPU count ({WORKERS_MAX} here); on PyTorch, its intra-op threads; not on JAX")
    scale = search.add_argument_group("scaling out (KerasTuner's chief/worker mode; TensorFlow backend only)")
    scale.add_argument("--workers", type=int, default=DEFAULTS.workers, metavar="N",
                       help="run a chief and N worker processes on this host, sharing its CPU cores, each "
                       f"with --threads threads; at most its CPU count ({WORKERS_MAX} here)")
    scale.add_argument("--role", choices=("chief", "worker"),
                       help="one process of a search spread over hosts; all share --directory")
    scale.add_argument("--oracle-address", metavar="HOST:PORT",
                       help="chief: where to serve, on the cluster's private network (e.g. 10.0.0.5:8000); "
                       "worker: the chief's address")
    scale.add_argument("--worker-id", help="a worker's name; a restarted worker keeps its id")
    scale.add_argument("--chief-timeout", type=float, default=DEFAULTS.chief_timeout, metavar="SECONDS",
                       help=f"how long a worker waits for an unreachable chief; default: {DEFAULTS.chief_timeout:g}")
    scale.add_argument("--trial-timeout", type=float, default=DEFAULTS.trial_timeout, metavar="SECONDS",
                       help="a worker whose epochs stop ending for this long is taken for hung: the chief "
                       "forgets it and hands its trial to the next worker (one silent for a minute, "
                       "sooner); give workers the chief's value; default: "
                       f"{DEFAULTS.trial_timeout:g} (longer than any epoch here takes)")
    scale.add_argument("--token-file", metavar="PATH",
                       help="the search's secret, which every call to the chief must carry: the chief writes "
                       "a new one there as it starts (default: <project>/chief.token, readable by you only), "
                       "a worker reads it; the environment variable KERAS_LRELU_SEARCH_TOKEN instead, if set")
    scale.add_argument("--insecure", action="store_true",
                       help="chief: serve beyond 127.0.0.1 without --tls-ca, where anyone who reaches the port "
                       "can read the search and report trials (refused without this flag)")
    scale.add_argument("--tls-cert", metavar="PEM", help="this process's TLS certificate (chain)")
    scale.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    scale.add_argument("--tls-ca", metavar="PEM", help="worker: the CA of the chief's certificate; "
                       "chief: require workers' certificates signed by this CA")
    keras_backend.add_argument(search)


def _add_studies(commands):
    compare = commands.add_parser(
        "compare", help="train ReLU, Leaky ReLU, PReLU, RReLU and ELU from the same seeds and compare",
        description="The comparison of Xu et al. 2015 on the suite's CNN: every activation, every "
        "seed; writes compare.csv, compare.md (mean ± std, paired tests) and compare.png.",
    )
    compare.add_argument("--dataset", default="mnist5k", metavar="NAME|PATH", help="as for search")
    compare.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"))
    compare.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds 0..N-1; default: 5")
    compare.add_argument("--epochs", type=int, default=10, metavar="N", help="default: 10")
    compare.add_argument("--batch-size", type=int, default=64, metavar="N", help="default: 64")
    compare.add_argument("--out", default=os.path.join("runs", "compare"), help="default: runs/compare")
    compare.add_argument("--quiet", action="store_true")
    keras_backend.add_argument(compare)
    compare.set_defaults(run=run_compare)

    dying = commands.add_parser(
        "dying", help="how often deep narrow networks collapse, ReLU against Leaky ReLU",
        description="Lu et al. 2019: train many deep, narrow fully-connected networks on a 1-D "
        "regression and count those that collapse to a constant output, per activation and width.",
    )
    dying.add_argument("--depth", type=int, default=10, help="hidden layers; default: 10")
    dying.add_argument("--width", default="3", type=_numbers(int),
                       help="units per layer, or a comma list; default: 3")
    dying.add_argument("--runs", type=int, default=100, help="networks per activation and width; default: 100")
    dying.add_argument("--slopes", default="0,0.01,0.1,0.3", type=_numbers(float),
                       help="Leaky ReLU slopes to compare, 0 being ReLU; default: 0,0.01,0.1,0.3")
    dying.add_argument("--steps", type=int, default=2000, help="full-batch Adam steps; default: 2000")
    dying.add_argument("--seed", type=int, default=0)
    dying.add_argument("--out", default=os.path.join("runs", "dying"), help="default: runs/dying")
    keras_backend.add_argument(dying)
    dying.set_defaults(run=run_dying)
# fmt: on


def run_compare(args, command):
    import_tensorflow_quietly()
    from tuning import data
    from tuning.studies import compare

    dataset = data.load(args.dataset, image_size=args.image_size, seed=0)
    _, table = compare.run(
        dataset, list(range(args.seeds)), args.epochs, args.batch_size, args.out, command, args.quiet
    )
    print(f"\n{table}")
    print(f"written: {args.out}/compare.csv, compare_curves.csv, compare.md, compare.png")
    return 0


def run_dying(args, command):
    import_tensorflow_quietly()
    from tuning.studies import dying

    _, table = dying.run(
        args.depth, args.width, args.slopes, args.runs, args.steps, args.seed, args.out, command
    )
    print(f"\n{table}")
    print(f"written: {args.out}/dying.csv, dying.md")
    return 0


def _numbers(kind):
    """An argparse type: a comma list of `kind` numbers."""

    def parse(text):
        values = [kind(part) for part in text.split(",") if part.strip()]
        if not values:
            raise ValueError(text)
        return values

    parse.__name__ = f"comma list of {kind.__name__}"  # argparse names it in its error
    return parse


def run_verdict(args, command):
    from tuning.verdict.command import run

    return run(args.results, args.margin, args.json)


def run_predict(args, command):
    from tuning.export.formats import loads_with_tensorflow
    from tuning.export.predict import predict
    from tuning.export.predict import printable

    if loads_with_tensorflow(args.model):  # LiteRT and ONNX files start in a second, without it
        import_tensorflow_quietly()
    with native_stderr_silenced():  # the LiteRT interpreter's INFO lines; errors print after
        for name, label, probability in predict(args.model, args.images):
            print(f"{printable(name)}\t{printable(label)}\t{probability:.4f}", flush=True)
    return 0


def _search(args, command, argv, from_command_line):
    from tuning.search_command import run_search as run

    backend = keras_backend.select(args.backend)  # before anything imports Keras
    return run(search_settings.from_args(args, argv[1:], command, backend, from_command_line))


def main(argv=None):
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    command = shlex.join(["python", "-m", "tuning", *argv])
    try:
        check_numbers(args.command, args)
        if args.command == "search":
            return _search(args, command, argv, from_command_line)
        if hasattr(args, "backend"):  # before anything imports Keras
            keras_backend.select(args.backend)
        return args.run(args, command)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SearchStopped as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
