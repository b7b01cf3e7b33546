"""The `verdict` command: a search's verdict recomputed from its
results.csv by tuning/verdict/decision.py, the code the search prints it with."""

import json
import os

from tuning import atomic
from tuning import verdict
from tuning.errors import UsageError

MAX_TABLE_BYTES = 64 << 20  # a results.csv of 10,000 trials is ~10 MB
REQUIRED = ("trial_id", "status", "mode", "alpha", verdict.SIZE_COLUMN, f"{verdict.SEARCH}_1")


def run(path, margin_points=None, json_path=None):
    """Prints the verdict of the table at `path`, decided on what the table
    records (tuning/verdict/recorded.py); `margin_points` is a what-if
    in place of the recorded margin. With `json_path`, writes its numbers
    there too. Returns the exit code."""
    if json_path:
        check_json_target(json_path)
    frame = read(path)
    found = verdict.recompute(frame, margin_points)
    if found is None:
        raise UsageError(f"no configuration in {path} finished its repeats; there is nothing to decide")
    print(found["text"])
    if json_path:
        atomic.write_text(json_path, atomic.to_json(found))
    return 0


def check_json_target(path):
    """UsageError unless `path` is new or a verdict this command wrote: a
    typo (`--json results.csv`) must not overwrite a file."""
    if not os.path.lexists(path):
        return
    try:
        if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) > MAX_TABLE_BYTES:
            raise ValueError
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
        if not (isinstance(old, dict) and "text" in old and "against_best" in old):
            raise ValueError
    except (OSError, ValueError, UnicodeDecodeError):
        raise UsageError(f"refusing to overwrite {path}: it is not a verdict this command wrote") from None


def read(path):
    """The table at `path` as a DataFrame (trial ids as text), or UsageError."""
    import pandas as pd

    if not os.path.isfile(path):
        raise UsageError(f"{path} is not a file")
    if os.path.getsize(path) > MAX_TABLE_BYTES:
        raise UsageError(f"{path} is over {MAX_TABLE_BYTES >> 20} MB; refusing to read it as a results table")
    try:
        frame = pd.read_csv(path, dtype={"trial_id": str, "status": str, "mode": str})
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path} as a results table: {error}") from None
    missing = [name for name in REQUIRED if name not in frame.columns]
    if missing:
        raise UsageError(f"{path} is not a search's results.csv: it has no column {', '.join(missing)}")
    for name in frame.columns:
        if name.startswith((f"{verdict.SEARCH}_", f"{verdict.CONFIRM}_")) and name[-1].isdigit():
            if not pd.api.types.is_numeric_dtype(frame[name]):
                raise UsageError(f"{path}: column {name} holds something other than numbers")
    return frame
