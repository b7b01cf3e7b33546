"""What --overwrite may delete and an export may replace: only our own folders."""

import os

import pytest

from tuning import limits
from tuning import paths
from tuning.errors import UsageError


def test_overwrite_deletes_only_a_search_project_or_an_empty_folder(tmp_path):
    paths.check_overwrite(str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    paths.check_overwrite(str(tmp_path / "empty"))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "oracle.json").write_text("{}")
    paths.check_overwrite(str(tmp_path / "project"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"mine is neither; nothing was deleted$"):
        paths.check_overwrite(str(tmp_path / "mine"))
    os.symlink(tmp_path / "project", tmp_path / "link")
    with pytest.raises(UsageError, match=r"link is a symbolic link"):
        paths.check_overwrite(str(tmp_path / "link"))
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match=r"file is not a folder"):
        paths.check_overwrite(str(tmp_path / "file"))


def test_an_export_replaces_only_an_earlier_export(tmp_path):
    best = tmp_path / "best"
    paths.check_export_target(str(best))
    best.mkdir()
    paths.check_export_target(str(best))
    (best / "thesis.tex").write_text("mine")
    with pytest.raises(UsageError, match=r"an export replaces only a folder holding model_card\.json"):
        paths.check_export_target(str(best))
    (best / "model_card.json").write_text("{}")
    paths.check_export_target(str(best))
    assert paths.export_folder("saved_models/p", 1) == os.path.join("saved_models/p", "best")
    assert paths.export_folder("saved_models/p", 3) == os.path.join("saved_models/p", "rank-3")


@pytest.mark.parametrize("name", ["alpha-mnist5k", "a.b_c-1", "x" * 100])
def test_plain_project_names_pass(name):
    limits.check_plain_name(name)


@pytest.mark.parametrize(
    "dataset, project",
    [
        ("mnist5k", "alpha-mnist5k"),
        ("/data/my images/", "alpha-my-images"),
        ("../x.npz", "alpha-x"),
        ("/", "alpha-data"),
        ("..", "alpha-data"),
        ("a\nb", "alpha-a-b"),
    ],
)
def test_the_default_project_name_is_always_plain(dataset, project):
    assert limits.default_project(dataset) == project
    limits.check_plain_name(project)
