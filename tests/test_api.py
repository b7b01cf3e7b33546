"""tuning.api.search: the search command's engine called from Python, as a
notebook would call it, and its settings checked as the command's are."""

import json
import os
import re

import pandas as pd
import pytest
from conftest import cli_in_process
from conftest import run_python

from tuning.api import UsageError
from tuning.api import search

pytestmark = pytest.mark.tensorflow_only

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# After the README's "Your own model" cells, in the same session as a notebook's next cells.
NOTEBOOK_AFTER_README = """
import json

import matplotlib
from sklearn.datasets import load_digits

from tuning import data

figure = result.plot()
figure.savefig("plot.png")
split = data.load("digits", seed=0)
_, accuracy = model.evaluate(split.x_test, split.y_test, verbose=0)
digits = load_digits()
x, y = digits.images[..., None].astype("float32"), digits.target
arrays = search(
    model=build, data=(x[:1200], y[:1200], x[1200:], y[1200:]), modes="relu,randomized", tuner="grid",
    max_trials=2, epochs=1, export_formats=["saved_model"], project="arrays", quiet=True,
)
pretrained = search(
    model=build(lambda: keras.layers.ReLU()), init="pretrained", data="digits", modes="relu,fixed",
    tuner="grid", max_trials=2, epochs=1, export_formats="saved_model", project="pretrained", quiet=True,
)
print(json.dumps({
    "decision": result.decision, "text": result.text, "exported": result.exported,
    "table": result.table.to_dict("list"), "accuracy": accuracy, "backend": matplotlib.get_backend(),
    "kinds": sorted({type(layer).__name__ for layer in model.layers}), "figure": type(figure).__name__,
    "arrays": [len(arrays.table), list(arrays.exported)],
    "pretrained": [len(pretrained.table), list(pretrained.exported)],
}))
"""


def readme_section():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    return text.split("\n## Your own model\n", 1)[1].split("\n## ", 1)[0]


def readme_notebook():
    """The README's "Your own model" python blocks, as one notebook session."""
    cells = re.findall(r"^```python\n(.*?)^```$", readme_section(), flags=re.S | re.M)
    assert len(cells) == 2 and "from tuning.api import search" in cells[1]
    # The user's backend, which the search must leave alone.
    return "import matplotlib\nmatplotlib.use('pdf')\n" + "\n".join(cells) + NOTEBOOK_AFTER_README


@pytest.mark.slow
def test_the_readmes_notebook_searches_its_own_model_and_gets_a_result_object(tmp_path):
    stdout = run_python(readme_notebook(), tmp_path, timeout=600)
    *printed, summary = stdout.strip().splitlines()
    shown = json.loads(summary)
    # What the README quotes: the result's line and the decision's.
    at = next(i for i, line in enumerate(printed) if line.startswith("<SearchResult runs/resnet-py"))
    assert printed[at].startswith("<SearchResult runs/resnet-py: 2 trials (2 completed), decision ")
    assert printed[at + 1] == shown["text"].splitlines()[-1] and printed[at + 1].startswith("Decision: ")
    # The README quotes both lines as they print (the block after its last python cell).
    quoted = readme_section().split("from tuning.api import search", 1)[1].split("```\n\n```\n", 1)[1]
    assert quoted.split("\n```", 1)[0].splitlines() == printed[at : at + 2]
    project = tmp_path / "runs" / "resnet-py"
    table = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert shown["table"]["val_accuracy"] == pytest.approx(table["val_accuracy"].tolist())
    assert (table["repeats"] == 6).all()
    assert (table["command"].str.startswith("tuning.api.search(model=<function build>, data='digits'")).all()
    verdict = json.loads((project / "verdict.json").read_text())
    assert shown["decision"] == verdict["decision"] and shown["text"] == verdict["text"]
    folder = "saved_models/resnet-py/best"
    assert list(shown["exported"]) == [folder]
    files = {os.path.relpath(p, folder) for p in shown["exported"][folder]}
    assert {"model.keras", "model_card.json", "saved_model.pb", "model.tflite", "model.onnx"} <= files
    card = json.loads((tmp_path / folder / "model_card.json").read_text())
    assert card["base_model"]["python"] == "the function build" and card["base_model"]["rectifiers"] == 2
    # best_model() is the exported model, as its card measured it.
    assert shown["accuracy"] == pytest.approx(card["test_accuracy"]["value"], abs=1e-6)
    leaky = card["hyperparameters"]["mode"] == "fixed"
    assert ("LeakyReLU" in shown["kinds"]) == leaky and ("ReLU" in shown["kinds"]) != leaky
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG" and shown["figure"] == "Figure"
    assert shown["backend"] == "pdf"
    # Arrays with their own validation split, and a keras.Model fine-tuned from its own weights.
    assert shown["arrays"] == [2, ["saved_models/arrays/best"]]
    card = json.loads((tmp_path / "saved_models" / "arrays" / "best" / "model_card.json").read_text())
    assert card["dataset"] == "arrays" and card["splits"]["validation"] == 1797 - 1200
    assert shown["pretrained"] == [2, ["saved_models/pretrained/best"]]
    card = json.loads((tmp_path / "saved_models" / "pretrained" / "best" / "model_card.json").read_text())
    assert card["base_model"]["python"] == "the keras.Model 'resnet' given to tuning.api.search"
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
