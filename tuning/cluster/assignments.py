"""Which worker ran which trial: <project>/workers.json, kept by the chief."""

import json
import os

from tuning import atomic
from tuning.errors import UsageError

FILE_NAME = "workers.json"


def record(project_dir, trial_id, worker):
    """Notes which worker ran a trial, in <project>/workers.json."""
    workers = read(project_dir)
    workers[str(trial_id)] = worker
    atomic.write_json(os.path.join(project_dir, FILE_NAME), workers)


def read(project_dir):
    """`{trial id: worker}` from <project>/workers.json ({} if there is none).

    Raises:
        UsageError: if the file is not such a mapping, rather than reading it
            as empty and dropping the record at the next write.
    """
    path = os.path.join(project_dir, FILE_NAME)
    try:
        with open(path) as f:
            workers = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UsageError(
            f"{path} cannot be read ({error}); restore it, or delete it to drop "
            "the record of which worker ran which trial"
        ) from None
    if not isinstance(workers, dict):
        raise UsageError(f"{path} holds no trial -> worker mapping; restore it or delete it")
    return workers
