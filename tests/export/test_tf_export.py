"""A search on JAX or PyTorch: trained there, model.keras saved there, every
other format written and checked from it on TensorFlow. Run in make test's
JAX and PyTorch lanes; on TensorFlow the search's own tests cover it
(test_tuning_cli's default search exports every format in its process)."""

import json
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import cli
from conftest import ok

from tuning import data
from tuning.errors import SearchStopped
from tuning.export import files
from tuning.export import formats
from tuning.export import on_tensorflow
from tuning.studies import compare
from tuning.studies import dying

BACKEND = keras.backend.backend()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BACKEND == "tensorflow", reason="on TensorFlow the formats are written in the search's process"
    ),
]
SEARCH = [
    "search",
    "--backend",
    BACKEND,
    "--dataset",
    "digits",
    "--epochs",
    "1",
    "--seed",
    "0",
    "--project",
    "p",
]
FILES = ["model.keras", *map(formats.file_name, formats.default_names())]  # model.keras, then the formats
# On JAX's lane two trials: the second runs, as by default, in a fresh process, which resumes
# the search from the files the first left. The resume is the same code on every backend.
TRIALS = 2 if BACKEND == "jax" else 1


@pytest.fixture(scope="module")
def search_here(tmp_path_factory):
    """`search --backend <this lane's>`, TRIALS trials, every default format."""
    cwd = tmp_path_factory.mktemp("search")
    return cwd, ok(cli([*SEARCH, "--max-trials", str(TRIALS)], cwd))


def test_a_search_exports_every_format_from_the_model_keras_it_trained(search_here):
    cwd, stdout = search_here
    assert f"training on Keras {keras.__version__}'s {BACKEND} backend" in stdout
    assert pd.read_csv(cwd / "runs" / "p" / "results.csv")["backend"].tolist() == [BACKEND] * TRIALS
    best = cwd / "saved_models" / "p" / "best"
    card = json.loads((best / "model_card.json").read_text())
    assert card["backend"] == BACKEND and BACKEND in card["versions"] and "tensorflow" in card["versions"]
    assert list(card["formats"]) == FILES
    # The optimizer under its public name: TensorFlow (which wrote the formats) and JAX load
    # a file saved on PyTorch without importing torch.
    with zipfile.ZipFile(best / "model.keras") as archive:
        assert (
            json.loads(archive.read("config.json"))["compile_config"]["optimizer"]["module"]
            == "keras.optimizers"
        )
    # Written last, the card is tied to every other file.
    assert card["sha256"] == {k: v for k, v in files.digests(best).items() if k != "model_card.json"}
    # Each file in its own runtime, against model.keras on the backend that trained it.
    dataset = data.load("digits", seed=0)
    expected = formats.load(str(best / "model.keras"))(dataset.x_test)
    accuracy = (expected.argmax(1) == dataset.y_test).mean()
    assert card["formats"]["model.keras"]["test_accuracy"] == pytest.approx(accuracy)
    for name in FILES[1:]:
        got = formats.load(str(best / ("" if name == "saved_model" else name)))(dataset.x_test)
        assert card["formats"][name]["test_accuracy"] == pytest.approx(
            (got.argmax(1) == dataset.y_test).mean()
        )
        if name != "model_int8.tflite":
            np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=name)
    # int8: one epoch leaves close scores, which quantization may swap; as on TensorFlow.
    assert card["formats"]["model_int8.tflite"]["test_accuracy"] == pytest.approx(accuracy, abs=0.05)


@pytest.mark.skipif(
    BACKEND != "jax", reason="the resume is the same code on every backend; JAX's lane checks it"
)
def test_a_search_on_jax_resumes_where_it_stood(search_here):
    cwd, stdout = search_here
    progress = [line for line in stdout.splitlines() if line.startswith("trial ")]
    # Trial 1 trained once; trial 2 in a new process that read the search from disk.
    assert [line.split()[1] for line in progress] == ["1/2", "2/2"]
    assert progress[1].endswith("(fresh process)") and not progress[0].endswith("(fresh process)")
    table = pd.read_csv(cwd / "runs" / "p" / "results.csv")
    assert table["backend"].tolist() == ["jax", "jax"] and (table["status"] == "COMPLETED").all()
    assert table["trial_id"].is_unique


@pytest.mark.skipif(BACKEND != "jax", reason="the same code on every backend; JAX's lane checks it")
def test_a_failed_tensorflow_export_is_one_error_and_writes_nothing(tmp_path):
    dataset = data.load("digits", seed=0)
    with pytest.raises(
        SearchStopped, match=r"^writing saved_model from model.keras on TensorFlow failed: .*model\.keras"
    ):
        on_tensorflow.write(str(tmp_path), ["saved_model"], dataset, model=None)  # no model.keras there
    assert list(tmp_path.iterdir()) == []


def test_the_studies_train_on_this_backend(tmp_path):
    frame, report = dying.run(3, [2], [0.0, 0.1], 2, 5, 0, str(tmp_path / "dying"), "dying")
    assert frame["backend"].tolist() == [BACKEND, BACKEND]
    assert f"on Keras's {BACKEND} backend" in report
    # compare: one activation (each costs a compilation here), the one with both diagnostics.
    row, curves = compare.train_one(data.load("digits", seed=0), "PReLU (per channel, 0.25)", 0, 1, 64)
    assert row["backend"] == BACKEND and np.isfinite(row["inactive_fraction"])  # DeadUnitMonitor ran
    assert row["learned_alpha"] != pytest.approx(0.25, abs=1e-6), (
        "AlphaHistory reads the slopes training moved"
    )
    assert [curve["epoch"] for curve in curves] == [1]
