"""Choosing Keras's backend for a command, before Keras is imported.

`search`, `compare` and `dying` train on whichever backend Keras is
configured for (KERAS_BACKEND, else keras.json), or on `--backend`. The
choice is checked before anything loads, and written to KERAS_BACKEND so
that every process the command starts (a fresh search process, the export's
TensorFlow process) knows it. Imports nothing heavy.
"""

import importlib.util
import json
import os
import sys

from tuning.errors import UsageError

# The backends a command trains on -> the package each needs and how to get it.
BACKENDS = {
    "tensorflow": ("tensorflow", "pip install tensorflow"),
    "jax": ("jax", "pip install 'keras_lrelu[jax]'"),
    "torch": ("torch", "pip install 'keras_lrelu[torch]'"),
}
# keras.json is a few lines; a larger one is not Keras's.
CONFIG_BYTES_MAX = 64 * 1024


def configured():
    """`(backend, where it is set)` as Keras will read it on import: the
    KERAS_BACKEND variable, else keras.json's "backend" in KERAS_HOME (or
    ~/.keras), else tensorflow. Once Keras is imported, the one it runs."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend(), "Keras, already imported in this process"
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    path = os.path.join(_keras_dir(), "keras.json")
    try:
        # A regular file only: opening a FIFO would wait for a writer forever.
        if os.path.isfile(path) and os.path.getsize(path) <= CONFIG_BYTES_MAX:
            with open(path) as f:
                backend = json.load(f).get("backend")
            if isinstance(backend, str) and backend:
                return backend, path
    except (OSError, ValueError, AttributeError):  # absent or not Keras's: Keras ignores it too
        pass
    return "tensorflow", "Keras's default"


def _keras_dir():
    """Where Keras keeps keras.json (keras/src/backend/config.py)."""
    if "KERAS_HOME" in os.environ:
        return os.path.expanduser(os.environ["KERAS_HOME"])
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def select(requested=None):
    """The backend this command trains on: `requested` (`--backend`), else
    the configured one. Sets KERAS_BACKEND to it and returns it.

    Raises:
        UsageError: for a backend the suite does not train on, one whose
            package is not installed, or one other than the Keras already
            running in this process.
    """
    current, where = configured()
    backend = requested or current
    if backend not in BACKENDS:
        raise UsageError(
            f"Keras's backend is {backend!r} ({where}); the suite trains on "
            f"{', '.join(BACKENDS)}: choose one with --backend"
        )
    if "keras" in sys.modules and backend != current:
        raise UsageError(f"--backend {backend}: this process already runs Keras on {current}")
    package, install = BACKENDS[backend]
    if importlib.util.find_spec(package) is None:
        origin = "--backend" if requested else where
        raise UsageError(
            f"the {backend} backend ({origin}) needs {package}: {install}, or choose another with --backend"
        )
    os.environ["KERAS_BACKEND"] = backend
    return backend


def add_argument(parser):
    """`--backend` for a command that trains."""
    parser.add_argument(
        "--backend",
        choices=tuple(BACKENDS),
        help="Keras backend to train on; default: Keras's own setting (KERAS_BACKEND, else keras.json)",
    )
