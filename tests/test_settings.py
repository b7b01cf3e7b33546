"""tuning/settings.py: the one frozen settings object a search runs by, and
what another process of the search is started with."""

import dataclasses

import pytest

from tuning import settings
from tuning.__main__ import build_parser
from tuning.errors import UsageError


def _settings(*argv, backend="tensorflow"):
    args = build_parser().parse_args(["search", *argv])
    return settings.from_args(args, list(argv), "python -m tuning search " + " ".join(argv), backend)


def test_the_command_lines_defaults_are_the_settings_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(settings.STARTED_ENV, raising=False)
    parsed, defaults = _settings(), settings.SearchSettings()
    worked_out = {"project", "intra_op_threads", "command", "trials_per_process"}
    for field in dataclasses.fields(settings.SearchSettings):
        if field.name not in worked_out:
            assert getattr(parsed, field.name) == getattr(defaults, field.name), field.name
    assert parsed.project == "alpha-mnist5k" and parsed.trials_per_process == settings.TRIALS_PER_PROCESS


def test_settings_are_checked_normalised_and_frozen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = _settings(
        "--dataset",
        "digits",
        "--modes",
        "relu, fixed,relu",
        "--export-formats",
        "onnx,onnx",
        "--image-size",
        "8",
        "8",
        "--threads",
        "1",
    )
    assert (found.modes, found.export_formats, found.image_size) == (("relu", "fixed"), ("onnx",), (8, 8))
    assert (found.project, found.project_dir, found.intra_op_threads) == (
        "alpha-digits",
        "runs/alpha-digits",
        1,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.repeats = 3
    with pytest.raises(
        UsageError, match=r"unknown mode tanh; use fixed,trainable,channelwise,randomized,relu"
    ):
        _settings("--modes", "relu,tanh")
    with pytest.raises(UsageError, match=r"--workers runs on the tensorflow backend only"):
        _settings("--workers", "1", backend="jax")


def test_a_fresh_process_and_the_cluster_are_started_from_the_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(settings.STARTED_ENV, raising=False)
    found = _settings("--dataset", "digits", "--workers", "2", "--repeats", "2")
    argv, env = found.fresh_process("12.5 3")
    assert argv[1:4] == ["-P", "-m", "tuning"]
    assert argv[4:] == ["search", "--dataset", "digits", "--workers", "2", "--repeats", "2"]
    assert env[settings.STARTED_ENV] == "12.5 3"
    worker = found.cluster_process("127.0.0.1:8000", "worker", "worker1")
    assert worker[worker.index("search") :] == [
        "search",
        "--dataset",
        "digits",
        "--repeats",
        "2",
        "--oracle-address",
        "127.0.0.1:8000",
        "--role",
        "worker",
        "--worker-id",
        "worker1",
    ]
    chief = found.cluster_process("127.0.0.1:8000", "chief")
    assert chief[-4:] == ["--oracle-address", "127.0.0.1:8000", "--role", "chief"]
    # A process started so continues the search: it resumes, and clears nothing.
    monkeypatch.setenv(settings.STARTED_ENV, "12.5 3")
    continued = _settings("--dataset", "digits", "--overwrite")
    assert continued.continued == "12.5 3" and not continued.overwrite and not continued.checks_resume


def test_python_objects_join_the_settings_and_leave_the_parsed_options_as_they_were(tmp_path, monkeypatch):
    """tuning.api.search's model= and data= objects stand for --model and
    --dataset in the settings; the parsed namespace is not written to."""
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["search"])
    before = dict(vars(args))
    model, arrays = object(), ([0], [0])
    found = settings.from_args(
        args, [], "tuning.api.search(...)", "tensorflow", False, model=model, dataset=arrays
    )
    assert found.model is model and found.dataset is arrays and found.project == "alpha-arrays"
    assert vars(args) == before
    assert settings.from_args(args, [], "c", "tensorflow", False).dataset == "mnist5k"
