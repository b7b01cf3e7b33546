"""Every numeric option's range and the shape of a project name, checked
in one place before anything is loaded or written. Imports nothing heavy,
so a bad number costs no TensorFlow import."""

import math
import os
import re

from tuning.errors import UsageError

SEED_MAX = 2**31 - 1
IMAGE_SIDE_MAX = 4096
# Worker processes share this host's cores: more than one per core only
# makes every trial slower.
WORKERS_MAX = os.cpu_count() or 1
THREADS_MAX = 1_024

# option -> (smallest, largest), both allowed; per command. A float bound
# of 0.0 as the smallest excludes 0 itself where the option says "> 0".
# fmt: off
OPTIONS = {
    "verdict": {"margin": (0.0, 100.0)},
    "search": {
        "max_trials": (1, 10_000), "epochs": (1, 10_000), "batch_size": (1, 65_536),
        "alpha_min": (0.0, 1.0), "alpha_max": (0.0, 1.0), "seed": (0, SEED_MAX),
        "repeats": (1, 100), "confirm": (0, 100), "margin": (0.0, 100.0), "export_top": (1, 100),
        "trials_per_process": (0, 10_000),
        "workers": (0, WORKERS_MAX), "chief_timeout": (0.0, 86_400.0), "threads": (1, THREADS_MAX),
        "trial_timeout": (0.0, 604_800.0),
        "image_size": (1, IMAGE_SIDE_MAX),
    },
    "compare": {
        "seeds": (1, 1_000), "epochs": (1, 10_000), "batch_size": (1, 65_536),
        "image_size": (1, IMAGE_SIDE_MAX),
    },
    "dying": {
        "depth": (1, 1_000), "width": (1, 4_096), "runs": (1, 100_000),
        "slopes": (0.0, 1.0), "steps": (1, 10_000_000), "seed": (0, SEED_MAX),
    },
}
# fmt: on
# Positive, not merely non-negative (the lower bound itself is refused).
EXCLUSIVE_LOW = {"alpha_min", "alpha_max", "chief_timeout", "trial_timeout", "margin"}
PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def check_numbers(command, args):
    """UsageError naming the first numeric option of `command` that is not
    finite or out of its range; a list value (`--image-size H W`, `--width
    3,5`) is checked element by element, and the error names the element."""
    for name, (low, high) in OPTIONS.get(command, {}).items():
        value = getattr(args, name, None)
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not _within(item, low, high, name in EXCLUSIVE_LOW):
                option = "--" + name.replace("_", "-")
                low_shown, high_shown = (f"{v:g}" if isinstance(v, float) else str(v) for v in (low, high))
                relation = (
                    f"> {low_shown} and <= {high_shown}"
                    if name in EXCLUSIVE_LOW
                    else f"between {low_shown} and {high_shown}"
                )
                raise UsageError(f"{option} must be {relation}, got {item}")


def _within(value, low, high, exclusive_low):
    if not math.isfinite(value):
        return False
    return (low < value if exclusive_low else low <= value) and value <= high


class AutoCount(int):
    """`--repeats auto:K` or `--confirm auto:K` as parsed: the ceiling K, an
    int for the range checks, marked as a sequential count."""


def count_or_auto(text):
    """argparse's type for a count that may be `auto:K`."""
    import argparse

    if text.startswith("auto:"):
        ceiling = text[len("auto:") :]
        if ceiling.isdigit():
            return AutoCount(int(ceiling))
    elif text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"must be a whole number K or auto:K, got {text!r}")


def check_plain_name(name, option="--project"):
    """A project name (or a worker id, which KerasTuner names a file after)
    is one plain folder name: letters, digits and `._-`, not `.` or `..`,
    so `--directory` and `--export-dir` hold all a search writes."""
    if not PLAIN_NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(
            f"{option} must be a plain name (letters, digits and ._-, at most 100, not . or ..), got {name!r}"
        )


def default_project(dataset):
    """`alpha-<dataset's file or folder name>`, made a valid project name."""
    base = os.path.splitext(os.path.basename(os.path.normpath(dataset)))[0]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip(".-")[:90]
    return f"alpha-{cleaned or 'data'}"


def intra_op_threads(threads):
    """`--threads`, else TF_NUM_INTRAOP_THREADS, else the CPU count: one
    number for every process of a search, so that a trial's sums split the
    same way in any of them."""
    if threads is not None:
        return threads
    value = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if not value:
        return WORKERS_MAX
    if not value.isdigit() or not 1 <= int(value) <= THREADS_MAX:
        raise UsageError(
            f"TF_NUM_INTRAOP_THREADS must be a whole number from 1 to {THREADS_MAX}, got {value!r}"
        )
    return int(value)
