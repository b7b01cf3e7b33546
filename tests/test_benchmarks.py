"""The benchmark scripts run end to end (tiny sizes); they assert no times."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import SUBPROCESS_ENV

BENCHMARKS = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks")
pytestmark = pytest.mark.slow


def _run(script, args, results):
    env = dict(SUBPROCESS_ENV, KERAS_LRELU_BENCH_RESULTS=str(results))
    result = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, script), *args],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_layer_speed_compares_every_layer_in_both_compilers(tmp_path):
    stdout = _run("layer_speed.py", ["--sizes", "2x6x6x3,8x5", "--repeats", "2"], tmp_path)
    table = pd.read_csv(tmp_path / "layer_speed.csv")
    assert len(table) == 2 * 2 * 9
    assert set(table["layer"]) >= {"keras PReLU channel", "channelwise", "randomized"}
    assert (table.groupby(["shape", "compiler"])["vs_LeakyReLU"].first() == 1.0).all()
    assert "| shape | compiler | layer |" in stdout


def test_serving_times_savedmodel_against_keras(tmp_path):
    _run("serving.py", ["--repeats", "3"], tmp_path)
    table = pd.read_csv(tmp_path / "serving.csv")
    assert set(table["path"]) == {"SavedModel serve", "keras predict_on_batch", "keras model(x)"}
    assert set(table["batch"]) == {1, 256}
