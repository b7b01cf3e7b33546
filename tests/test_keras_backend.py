"""Choosing the Keras backend a command trains on: read as Keras reads it,
checked before anything is imported, refused in one line."""

import importlib.util
import json
import os
import sys

import keras
import pytest
from conftest import SUBPROCESS_ENV
from conftest import assert_one_error_line
from conftest import cli

from tuning import keras_backend


@pytest.fixture
def before_keras(monkeypatch, tmp_path):
    """As in a fresh command: Keras not yet imported, no KERAS_BACKEND, and
    KERAS_HOME an empty folder of the test's."""
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def test_the_configured_backend_is_read_as_keras_reads_it(before_keras, monkeypatch):
    assert keras_backend.configured() == ("tensorflow", "Keras's default")
    config = before_keras / "keras.json"
    config.write_text(json.dumps({"floatx": "float32", "backend": "jax"}))
    assert keras_backend.configured() == ("jax", str(config))
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the variable wins, as in Keras
    assert keras_backend.configured() == ("torch", "KERAS_BACKEND")
    monkeypatch.delenv("KERAS_BACKEND")
    for broken in ("{not json", json.dumps(["jax"]), json.dumps({"backend": 3}), " " * (64 * 1024 + 1)):
        config.write_text(broken)  # ignored, as Keras ignores a keras.json it cannot read
        assert keras_backend.configured() == ("tensorflow", "Keras's default"), broken[:20]
    config.unlink()
    os.mkfifo(config)  # not read: opening it would block until someone writes
    assert keras_backend.configured() == ("tensorflow", "Keras's default")


def test_select_sets_the_backend_for_this_process_and_those_it_starts(before_keras, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert keras_backend.select("tensorflow") == "tensorflow"
    assert os.environ["KERAS_BACKEND"] == "tensorflow"  # what the processes it starts inherit
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert keras_backend.select(None) == "tensorflow"


def test_a_backend_that_cannot_train_is_refused_naming_where_it_was_set(before_keras, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    with pytest.raises(
        keras_backend.UsageError,
        match=r"^Keras's backend is 'numpy' \(KERAS_BACKEND\); the "
        r"suite trains on tensorflow, jax, torch: choose one with --backend$",
    ):
        keras_backend.select(None)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "jax" else find_spec(name))
    with pytest.raises(
        keras_backend.UsageError,
        match=r"^the jax backend \(--backend\) needs jax: pip install "
        r"'keras_lrelu\[jax\]', or choose another with --backend$",
    ):
        keras_backend.select("jax")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(keras_backend.UsageError, match=r"^the jax backend \(KERAS_BACKEND\) needs jax"):
        keras_backend.select(None)


def test_another_backend_than_the_running_keras_is_refused():
    running = keras.backend.backend()
    other = "jax" if running != "jax" else "torch"
    with pytest.raises(
        keras_backend.UsageError, match=rf"^--backend {other}: this process already runs Keras on {running}$"
    ):
        keras_backend.select(other)
    assert keras_backend.select(None) == running


@pytest.mark.parametrize(
    "backend, args, message",
    [
        ("numpy", ["dying"], r"error: Keras's backend is 'numpy' \(KERAS_BACKEND\); the suite trains on "),
        (
            "jax",
            ["search", "--workers", "2"],
            r"error: --workers runs on the tensorflow backend only "
            r"\(--backend tensorflow\); this search is on jax$",
        ),
        (
            "jax",
            ["search", "--backend", "torch", "--role", "worker", "--oracle-address", "127.0.0.1:1"],
            r"error: --role runs on the tensorflow backend only \(--backend tensorflow\); this search is on torch$",
        ),
        (
            "jax",
            ["search", "--threads", "2"],
            r"error: --threads sets TensorFlow's or PyTorch's threads per "
            r"operation; JAX has no such setting: leave it out, or use --backend tensorflow or torch$",
        ),
    ],
)
def test_what_a_backend_cannot_do_is_one_error_line_and_writes_nothing(tmp_path, backend, args, message):
    result = cli(args, tmp_path, env=dict(SUBPROCESS_ENV, KERAS_BACKEND=backend), timeout=60)
    assert_one_error_line(result, message)
    assert list(tmp_path.iterdir()) == []
