"""What the search may delete or replace: only folders it made itself.

KerasTuner's `overwrite=True` deletes `directory/project` whatever it is,
and an export replaces its target folder whole; a typo in `--project` or
`--export-dir` must not cost a user their files.
"""

import os

from tuning.errors import UsageError
from tuning.names import CARD_NAME

ORACLE_FILE = "oracle.json"  # KerasTuner's state: every project of ours has one


def check_overwrite(project_dir):
    """UsageError unless `--overwrite` may delete `project_dir`: absent,
    empty, or a search project (a real folder holding oracle.json)."""
    if _ours(project_dir, ORACLE_FILE):
        return
    raise UsageError(
        f"--overwrite deletes only a search project (a folder holding {ORACLE_FILE}) or an empty "
        f"folder, and {project_dir} is {_what(project_dir)}; nothing was deleted"
    )


def check_export_target(folder):
    """UsageError unless an export may replace `folder`: absent, empty, or
    an export of ours (a real folder holding model_card.json)."""
    if _ours(folder, CARD_NAME):
        return
    raise UsageError(
        f"an export replaces only a folder holding {CARD_NAME} (an earlier export), and {folder} is "
        f"{_what(folder)}; move it away or choose another --export-dir or --project"
    )


def export_folder(export_root, rank):
    """Where a search exports its `rank`-th best configuration."""
    return os.path.join(export_root, "best" if rank == 1 else f"rank-{rank}")


def _ours(path, marker):
    if not os.path.lexists(path):
        return True
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    return not os.listdir(path) or os.path.isfile(os.path.join(path, marker))


def _what(path):
    if os.path.islink(path):
        return "a symbolic link"
    if not os.path.isdir(path):
        return "not a folder"
    return "neither"
