"""The search from Python: the same engine as `python -m tuning search`.

```python
from tuning.api import search

result = search(model="my_model.keras", data="digits", modes=["relu", "fixed"],
                repeats=3, prune="race", directory="runs", project="mine")
result.verdict["decision"]   # "better", "worse", "equivalent" or "undecided"
result.table                 # every trial, as results.csv holds it
result.plot()                # a matplotlib Figure: shows inline in a notebook
model = result.best_model()  # the exported best model, loaded
```

Every keyword is the `search` option of the same name (`--max-trials` is
`max_trials=`), checked as the command line checks it: a bad one raises
UsageError (a ValueError) with the text the command would print after
`error:`. Progress prints as the command's does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuning.api.result import SearchResult
from tuning.api.result import load_result
from tuning.errors import UsageError

if TYPE_CHECKING:  # for the annotations only: importing Keras starts a backend
    import keras
    import numpy as np

__all__ = ["SearchResult", "UsageError", "load_result", "search"]

# Options that are lists on the command line: comma lists, or H W.
_COMMA_LISTS = ("modes", "export_formats")


def search(
    model: str
    | os.PathLike
    | keras.Model
    | Callable[[Callable[[], keras.layers.Layer]], keras.Model]
    | None = None,
    data: str | os.PathLike | tuple[np.ndarray, ...] = "mnist5k",
    **options,
) -> SearchResult:
    """Runs (or resumes) an alpha search and exports its best model;
    returns its SearchResult.

    Args:
        model: None (the suite's CNN); the path of a `.keras` file; a
            Functional or Sequential `keras.Model` (its ReLUs are replaced
            by keras_lrelu.convert() for each leaky configuration); or a
            function `build(activation) -> keras.Model` that calls
            `activation()` for a fresh rectifier layer wherever one goes.
        data: a dataset's name (`"digits"`, `"mnist5k"`, ...), a `.npz`
            path, a folder of images, or arrays: `(x, y)` or
            `(x_train, y_train, x_val, y_val)`.
        **options: the search command's options by their names, e.g.
            `modes=["relu", "fixed"]`, `repeats=3` or `"auto:10"`,
            `prune="race"`, `tuner="grid"`, `epochs=5`, `init="pretrained"`,
            `directory=`, `project=`, `export_dir=`, `overwrite=True`.

    Raises:
        UsageError: a setting the command line would refuse, with its text.
        tuning.errors.SearchStopped: every trial failed.
    """
    from tuning import __main__ as command_line
    from tuning import keras_backend
    from tuning import settings as search_settings
    from tuning.search_command import run_search

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the command line: before TensorFlow starts
    argv = _arguments(options, command_line)
    if isinstance(model, (str, os.PathLike)):
        argv += ["--model", os.fspath(model)]
    if isinstance(data, (str, os.PathLike)):
        argv += ["--dataset", os.fspath(data)]
    args = command_line.parse_search(argv)
    objects = {
        "model": None if model is None or isinstance(model, (str, os.PathLike)) else model,
        "dataset": None if isinstance(data, (str, os.PathLike)) else data,
    }  # Python objects: they stand for --model and --dataset, beside the parsed options
    backend = keras_backend.select(args.backend)
    settings = search_settings.from_args(
        args, argv, _call_text(model, data, options), backend, False, **objects
    )
    run_search(settings)
    return load_result(settings.directory, settings.project, settings.export_dir, settings.command)


def _arguments(options, command_line):
    """The command line's arguments for keyword `options`."""
    known = vars(command_line.parse_search([]))
    argv = []
    for name, value in options.items():
        if name not in known or name in ("dataset", "model", "command", "run"):
            hint = " (data= names the dataset)" if name == "dataset" else ""
            raise TypeError(f"search() got an unexpected keyword argument {name!r}{hint}")
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif name == "image_size":
            argv += [flag, *map(str, value)]
        elif name in _COMMA_LISTS and not isinstance(value, str):
            argv += [flag, ",".join(map(str, value))]
        else:
            argv += [flag, str(value)]
    return argv


def _call_text(model, data, options):
    """The call as the table's `command` column shows it."""

    def shown(value):
        if value is None or isinstance(value, (str, int, float, bool, list, tuple)) and not _is_arrays(value):
            return repr(value)
        if _is_arrays(value):
            return f"<{len(value)} arrays, {len(value[0])} training images>"
        return f"<{type(value).__name__} {getattr(value, 'name', getattr(value, '__name__', ''))!s}>"

    given = {"model": model, "data": data, **options}
    return "tuning.api.search(" + ", ".join(f"{k}={shown(v)}" for k, v in given.items()) + ")"


def _is_arrays(value):
    return isinstance(value, (tuple, list)) and any(hasattr(item, "shape") for item in value)
