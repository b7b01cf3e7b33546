import json
import os
import subprocess
import sys

import pytest

from tuning import atomic


def _fill_with(text):
    def fill(folder):
        for part in ("a.txt", "b.txt"):
            with open(os.path.join(folder, part), "w") as f:
                f.write(text)

    return fill


def _crash(folder):
    with open(os.path.join(folder, "a.txt"), "w") as f:
        f.write("half")
    raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of model.export


def _content(folder):
    """The one version both files hold, or what is wrong with the folder."""
    texts = {(folder / part).read_text() for part in ("a.txt", "b.txt") if (folder / part).exists()}
    return texts.pop() if len(texts) == 1 and len(os.listdir(folder)) == 2 else f"not whole: {texts}"


def test_replaces_a_previous_export_whole(tmp_path):
    target = tmp_path / "p" / "best"
    atomic.replace_folder(str(target), _fill_with("first"))
    atomic.replace_folder(str(target), _fill_with("second"))
    assert _content(target) == "second"
    assert sorted(os.listdir(tmp_path / "p")) == ["best"]


def test_an_exception_keeps_the_previous_export_and_no_temporary(tmp_path):
    target = tmp_path / "best"
    atomic.replace_folder(str(target), _fill_with("first"))
    with pytest.raises(KeyboardInterrupt):
        atomic.replace_folder(str(target), _crash)
    assert _content(target) == "first"
    assert os.listdir(tmp_path) == ["best"]
    with pytest.raises(KeyboardInterrupt):
        atomic.replace_folder(str(tmp_path / "other"), _crash)
    assert os.listdir(tmp_path) == ["best"]


# Runs replace_folder(old -> new) in a plain Python process that dies
# (os._exit, like SIGKILL: no clean-up runs) at the step named in argv[2].
_CRASHING = """
import os, shutil, sys
from tuning import atomic
folder, step = sys.argv[1], sys.argv[2]
renames, rmtree = [0], shutil.rmtree
real_rename = os.rename

def rename(src, dst):
    renames[0] += 1
    if step == f"before rename {renames[0]}":
        os._exit(9)
    real_rename(src, dst)

def remove_tree(path, *args, **kwargs):
    if step == "before deleting the old":
        os._exit(9)
    if step == "halfway through deleting the old":
        os.remove(os.path.join(path, "a.txt"))
        os._exit(9)
    rmtree(path, *args, **kwargs)

def fill(tmp):
    for part in ("a.txt", "b.txt"):
        with open(os.path.join(tmp, part), "w") as f:
            f.write("new")
        if step == "halfway through filling":
            os._exit(9)

os.rename, shutil.rmtree = rename, remove_tree
atomic.replace_folder(folder, fill)
"""
STEPS = {  # step: what the folder holds right after the crash (None: absent)
    "halfway through filling": "old",
    "before rename 1": "old",  # parking the old one
    "before rename 2": None,  # installing the new one
    "before deleting the old": "new",
    "halfway through deleting the old": "new",
}


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_export_whole(tmp_path, step):
    target = tmp_path / "best"
    atomic.replace_folder(str(target), _fill_with("old"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(atomic.__file__)))
    killed = subprocess.run([sys.executable, "-c", _CRASHING, str(target), step], cwd=root)
    assert killed.returncode == 9, "the process died at the step"
    assert (_content(target) if target.exists() else None) == STEPS[step]
    atomic.recover_folder(str(target))  # what the next export does first
    assert _content(target) == (STEPS[step] or "old")
    assert os.listdir(tmp_path) == ["best"], "nothing left over"
    atomic.replace_folder(str(target), _fill_with("next"))
    assert _content(target) == "next" and os.listdir(tmp_path) == ["best"]


def test_write_file_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "table.json"
    atomic.write_json(str(path), {"1": "worker1"})

    def fail(tmp):
        with open(tmp, "w") as f:
            f.write("{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.write_file(str(path), fail)
    assert json.loads(path.read_text()) == {"1": "worker1"}
    assert os.listdir(tmp_path) == ["table.json"]


def test_files_and_folders_get_the_permissions_of_any_new_file(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic.write_text(str(tmp_path / "results.csv"), "a,b\n")
        atomic.replace_folder(str(tmp_path / "best"), _fill_with("x"))
    finally:
        os.umask(mask)
    assert oct((tmp_path / "results.csv").stat().st_mode & 0o777) == oct(0o644)
    assert oct((tmp_path / "best").stat().st_mode & 0o777) == oct(0o755)
