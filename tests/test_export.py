import os

import pytest

from tuning.export import write_atomically


def _fill_with(text):
    def fill(folder):
        with open(os.path.join(folder, "file.txt"), "w") as f:
            f.write(text)
    return fill


def _crash(folder):
    _fill_with("half")(folder)
    raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of model.export


def test_replaces_a_previous_export_whole(tmp_path):
    target = tmp_path / "p" / "best"
    write_atomically(str(target), _fill_with("first"))
    write_atomically(str(target), _fill_with("second"))
    assert (target / "file.txt").read_text() == "second"
    assert sorted(os.listdir(tmp_path / "p")) == ["best"]


def test_a_crash_keeps_the_previous_export_and_no_temporary(tmp_path):
    target = tmp_path / "best"
    write_atomically(str(target), _fill_with("first"))
    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(target), _crash)
    assert (target / "file.txt").read_text() == "first"
    assert os.listdir(tmp_path) == ["best"]


def test_a_crash_with_no_previous_export_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(tmp_path / "best"), _crash)
    assert os.listdir(tmp_path) == []


def test_temporaries_of_a_killed_export_are_cleared(tmp_path):
    (tmp_path / ".best.tmp-abc123").mkdir()  # what SIGKILL mid-export leaves
    write_atomically(str(tmp_path / "best"), _fill_with("new"))
    assert os.listdir(tmp_path) == ["best"]
