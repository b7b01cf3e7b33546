"""Writes that no reader sees half done and no crash loses.

Every writer of the project's files (text, JSON, CSV tables, PNG figures,
whole folders) is here, used by the search and the studies alike.
Everything is written to a temporary path beside its target and renamed
into place. Only the standard library is imported, so the crash tests can
run this module in a plain Python process.
"""

import glob
import json
import math
import os
import shutil
import tempfile
import uuid

# A text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_file(path, write):
    """Calls `write(tmp)` on a temporary path beside `path`, then renames it
    to `path`. A failure leaves `path` as it was and no temporary file."""
    directory, name = os.path.split(os.path.abspath(path))
    # Not mkstemp: the writer creates the file, with the permissions the
    # umask gives any new file (mkstemp's are private to the owner).
    tmp = os.path.join(directory, f".{name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text(path, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    write_file(path, write)


def to_json(data):
    """JSON with NaN (an undefined statistic) as null, never the invalid NaN."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data), indent=2, allow_nan=False)


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2))


def write_csv(frame, path):
    """Writes through a temporary file, so readers never see half a table;
    text cells cannot start a spreadsheet formula (see `inert`)."""
    frame = frame.map(inert)
    write_file(path, lambda tmp: frame.to_csv(tmp, index=False))


def inert(value):
    """A text cell a spreadsheet would run as a formula (it starts with =,
    +, -, @, a tab or a carriage return: a worker id, hyperparameter or
    trial message may come from a client of the chief) with a leading
    apostrophe, which spreadsheets show as text; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def save_figure(figure, path):
    """Saves a matplotlib figure as PNG through a temporary file, and closes it."""
    from matplotlib import pyplot as plt

    try:
        write_file(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(figure)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _parked(folder):
    """Where `replace_folder` keeps the previous `folder` while it renames
    the new one into place."""
    parent, name = os.path.split(os.path.abspath(folder))
    return os.path.join(parent, f".{name}.old")


def _temporaries(folder):
    parent, name = os.path.split(os.path.abspath(folder))
    return glob.glob(os.path.join(parent, f".{name}.new-*"))


def recover_folder(folder):
    """Finishes or undoes a `replace_folder` that a crash interrupted: puts
    back a parked previous `folder` if no new one replaced it, and deletes
    what is left over. Afterwards `folder` is the old or the new one, whole
    (or absent if there never was one)."""
    parked = _parked(folder)
    if os.path.isdir(parked):
        if os.path.isdir(folder):  # the new one is in place: the old one may go
            shutil.rmtree(parked)
        else:
            os.rename(parked, folder)
    for tmp in _temporaries(folder):  # never renamed into place: unfinished or superseded
        shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(folder, fill):
    """Calls `fill(tmp)` on a fresh temporary folder beside `folder`, then
    puts it in place of `folder`.

    The previous `folder`, if any, is parked under a name of its own
    (`.<name>.old`), the new one renamed into place, and only then is the
    old one deleted. A crash at any point leaves the old or the new folder
    whole, and the next call (or `recover_folder`) tidies up. Between the
    two renames `folder` is briefly absent.
    """
    parent, name = os.path.split(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    recover_folder(folder)
    tmp = tempfile.mkdtemp(prefix=f".{name}.new-", dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folders are private to the owner
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    parked = _parked(folder)
    if os.path.isdir(folder):
        os.rename(folder, parked)
    os.rename(tmp, folder)
    if os.path.isdir(parked):
        shutil.rmtree(parked)
