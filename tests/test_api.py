"""tuning.api.search: the search command's engine called from Python, as a
notebook would call it, and its settings checked as the command's are."""

import json
import os

import pandas as pd
import pytest
from conftest import cli_in_process
from conftest import run_python

from tuning.api import UsageError
from tuning.api import search

pytestmark = pytest.mark.tensorflow_only

NOTEBOOK = """
import json

import keras
import matplotlib
import numpy as np
from sklearn.datasets import load_digits

from tuning import data
from tuning.api import search

matplotlib.use("pdf")  # the user's backend, which the search must leave alone
digits = load_digits()
x, y = digits.images[..., None].astype("float32"), digits.target


def build(activation):
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Rescaling(1 / 16)(inputs)
    h = activation()(keras.layers.BatchNormalization(momentum=0.9)(keras.layers.Conv2D(8, 3, padding="same")(h)))
    skip = keras.layers.BatchNormalization(momentum=0.9)(keras.layers.Conv2D(8, 3, padding="same")(h))
    h = activation()(keras.layers.Add()([h, skip]))
    h = keras.layers.Flatten()(keras.layers.MaxPooling2D()(h))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h), name="built_resnet")


result = search(
    model=build, data=(x, y), modes=["relu", "randomized"], tuner="grid", max_trials=3, epochs=3,
    repeats=3, alpha_min=0.05, alpha_max=0.3, export_formats=["saved_model"], directory="runs",
    project="notebook", trials_per_process=0,
)
print(repr(result))
result.plot().savefig("plot.png")
model = result.best_model()
split = data.load((x, y), seed=0)
_, accuracy = model.evaluate(split.x_test, split.y_test, verbose=0)
pretrained = search(
    model=build(lambda: keras.layers.ReLU()), init="pretrained", data="digits", modes="relu,fixed",
    tuner="grid", max_trials=2, epochs=1, export_formats="saved_model", project="pretrained", quiet=True,
)
print(json.dumps({
    "decision": result.decision, "text": result.text, "exported": {k: v for k, v in result.exported.items()},
    "table": result.table.to_dict("list"), "accuracy": accuracy, "backend": matplotlib.get_backend(),
    "kinds": sorted({type(layer).__name__ for layer in model.layers}),
    "pretrained": [len(pretrained.table), list(pretrained.exported)],
}))
"""


@pytest.mark.slow
def test_a_notebook_searches_its_own_build_function_on_arrays_and_gets_a_result_object(tmp_path):
    stdout = run_python(NOTEBOOK, tmp_path, timeout=600)
    *progress, summary = stdout.strip().splitlines()
    shown = json.loads(summary)
    assert "trial 1/3  mode=relu" in stdout and "Decision: " in stdout  # the command's progress and verdict
    assert any(
        line.startswith("<SearchResult runs/notebook: 3 trials (3 completed), decision ") for line in progress
    )
    project = tmp_path / "runs" / "notebook"
    table = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert shown["table"]["val_accuracy"] == pytest.approx(table["val_accuracy"].tolist())
    assert (
        table["command"].str.startswith("tuning.api.search(model=<function build>, data=<2 arrays, 1797")
    ).all()
    verdict = json.loads((project / "verdict.json").read_text())
    assert shown["decision"] == verdict["decision"] and shown["text"] == verdict["text"]
    folder = "saved_models/notebook/best"
    assert list(shown["exported"]) == [folder]
    assert sorted(os.path.relpath(p, folder) for p in shown["exported"][folder])[:3] == [
        "fingerprint.pb", "model.keras", "model_card.json",
    ]  # fmt: skip
    card = json.loads((tmp_path / folder / "model_card.json").read_text())
    assert card["dataset"] == "arrays" and card["base_model"]["python"] == "the function build"
    assert card["base_model"]["rectifiers"] == 2
    # best_model() is the exported model, as its card measured it.
    assert shown["accuracy"] == pytest.approx(card["test_accuracy"]["value"], abs=1e-6)
    leaky = card["hyperparameters"]["mode"] == "randomized"
    assert ("RandomizedLeakyReLU" in shown["kinds"]) == leaky and ("ReLU" in shown["kinds"]) != leaky
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert shown["backend"] == "pdf"
    # A keras.Model object, fine-tuned from its own weights.
    assert shown["pretrained"] == [2, ["saved_models/pretrained/best"]]
    card = json.loads((tmp_path / "saved_models" / "pretrained" / "best" / "model_card.json").read_text())
    assert card["base_model"]["python"] == "the keras.Model 'built_resnet' given to tuning.api.search"
    assert card["base_model"]["init"] == "pretrained" and card["dataset"] == "digits"


BAD_SETTINGS = [
    ({"repeats": 0}, ["--repeats", "0"]),
    ({"tuner": "annealing"}, ["--tuner", "annealing"]),
    ({"modes": ["fixed", "elu"]}, ["--modes", "fixed,elu"]),
    ({"prune": "race", "repeats": "auto:5", "confirm": 2},
     ["--prune", "race", "--repeats", "auto:5", "--confirm", "2"]),
    ({"init": "pretrained"}, ["--init", "pretrained"]),
    ({"model": "missing.keras"}, ["--model", "missing.keras"]),
    ({"data": "nothing-here"}, ["--dataset", "nothing-here"]),
]  # fmt: skip


@pytest.mark.parametrize("options, argv", BAD_SETTINGS, ids=[" ".join(a) for _, a in BAD_SETTINGS])
def test_a_bad_setting_raises_the_command_lines_error_text(tmp_path, options, argv, capsys, monkeypatch):
    line = cli_in_process(["search", *argv], tmp_path, capsys).stderr.strip()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as raised:
        search(**options)
    assert line.removesuffix(" (see --help)") == f"error: {raised.value}"
    assert isinstance(raised.value, ValueError)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "saved_models").exists()


def test_what_only_python_can_get_wrong_is_refused(tmp_path, monkeypatch):
    import keras

    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'dataset' \(data= names the dataset\)$"
    ):
        search(dataset="digits")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'epoch'$"):
        search(epoch=3)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "relu")])
    with pytest.raises(
        UsageError, match=r"^model= given as a Python object lives in this process only: workers"
    ):
        search(model=model, data="digits", workers=1)
    with pytest.raises(
        UsageError, match=r"^data= as arrays is \(x, y\) or \(x_train, y_train, x_val, y_val\); got 3"
    ):
        search(data=([0], [0], [0]))
    assert not (tmp_path / "runs").exists()
