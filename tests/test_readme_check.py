"""tools/readme_check.py (`make readme-check`) finds what differs, and only that."""

import json
import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), os.pardir, "tools")
sys.path.insert(0, TOOLS)
import readme_check  # noqa: E402

sys.path.remove(TOOLS)

README = """
### What `make demo` does

```
trial_id    status worker  mode  alpha val_accuracy (95% CI)  val_loss  seconds
      01 COMPLETED tuner0 fixed   0.01   0.9654 ± 0.0036    0.1334    37.64
      00 COMPLETED tuner0  relu      0   0.9608 ± 0.0065    0.1476    28.74

Best: trial 01 (fixed α = 0.01), val_accuracy 96.5% ± 0.4 (95% CI over 3 repeats).
exported: saved_models/demo/best
```

The exported model (trial 01, its second repeat, validation accuracy 96.6%) scored 96.4% on the
1,000 held-out test digits, and so did `model.keras`, the SavedModel, `model.tflite` (1.7 MB)
and `model.onnx`, each run in its own runtime; `model_int8.tflite` (0.44 MB) scored 96.3%.

### The dying-ReLU experiment

```
python -m tuning dying --width 3 --out results/dying
```

| width | activation | collapsed |
|---|---|---|
| 3 | ReLU | 70% |
"""

STDOUT = """trial 2/2  mode=fixed alpha=0.01  elapsed 0:40
trial_id    status worker  mode  alpha val_accuracy (95% CI)  val_loss  seconds
      01 COMPLETED tuner0 fixed   0.01   0.9654 ± 0.0036    0.1334    31.1
      00 COMPLETED tuner0  relu      0   0.9608 ± 0.0065    0.1476     29.02

Best: trial 01 (fixed α = 0.01), val_accuracy 96.5% ± 0.4 (95% CI over 3 repeats).
exported: saved_models/demo/best
"""


def _card(int8_accuracy=0.963):
    formats = {
        name: {"test_accuracy": 0.964, "bytes": 1_712_000}
        for name in ("model.keras", "saved_model", "model.tflite", "model.onnx")
    }
    formats["model_int8.tflite"] = {"test_accuracy": int8_accuracy, "bytes": 441_000}
    return {
        "trial_id": "01",
        "configuration": {"exported_repeat": 2},
        "splits": {"test": 1000},
        "metrics": {"val_accuracy_selected": 0.9662, "test_accuracy": 0.9641},
        "formats": formats,
    }


def test_the_demo_table_is_compared_without_its_seconds():
    assert readme_check.check_demo_table(README, STDOUT) == []
    changed = STDOUT.replace("0.9608 ± 0.0065", "0.9612 ± 0.0061")
    (difference,) = readme_check.check_demo_table(README, changed)
    assert "0.9608 ± 0.0065" in difference and "0.9612 ± 0.0061" in difference
    shorter = STDOUT.replace("exported: saved_models/demo/best\n", "")
    assert readme_check.check_demo_table(README, shorter)[0].startswith(
        "the demo's output: 6 lines quoted, 5 in the fresh run"
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, []),
        ({"int8_accuracy": 0.960}, ["card: model_int8.tflite test accuracy quoted '96.3', card says '96.0'"]),
    ],
)
def test_the_cards_figures_are_compared(tmp_path, change, expected):
    path = tmp_path / "model_card.json"
    path.write_text(json.dumps(_card(**change)))
    assert readme_check.check_card(README, path) == expected


def test_a_format_that_scored_otherwise_and_a_size_are_caught(tmp_path):
    card = _card()
    card["formats"]["model.onnx"]["test_accuracy"] = 0.962
    card["formats"]["model.tflite"]["bytes"] = 1_800_000
    card["configuration"]["exported_repeat"] = 1
    path = tmp_path / "model_card.json"
    path.write_text(json.dumps(card))
    assert readme_check.check_card(README, path) == [
        "card: repeat quoted 'second', card says 'first'",
        "card: model.onnx scored as the model quoted True, card says False",
        "card: model.tflite size quoted '1.7', card says '1.8'",
    ]


def test_a_study_table_is_compared_with_the_committed_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "dying").mkdir(parents=True)
    committed = tmp_path / "results" / "dying" / "dying.md"
    committed.write_text(
        "# Collapse\n\n| width | activation | collapsed |\n|---|---|---|\n| 3 | ReLU | 70% |\n"
    )
    assert readme_check.check_study(README, "dying", rerun=False) == []
    committed.write_text(committed.read_text().replace("70%", "62%"))
    assert readme_check.check_study(README, "dying", rerun=False) == [
        "results/dying/dying.md: quoted '| 3 | ReLU | 70% |', fresh '| 3 | ReLU | 62% |'"
    ]


def test_the_pages_links_commands_and_sourced_tables_hold():
    assert readme_check.check_pages(readme_check.read_pages()) == []


def test_a_broken_link_a_bad_command_and_a_stale_number_are_each_named(tmp_path):
    (tmp_path / "Makefile").write_text("test:\n\ttrue\n")
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "speed.csv").write_text(
        "layer,ms,ratio\nfixed,6.312,1.004\nrelu,7.05,1.138\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "speed.md").write_text("# Speed\n\n## Layers\n")
    pages = {
        "README.md": (
            "See [speed](docs/speed.md#layers), [gone](docs/gone.md) and [nowhere](docs/speed.md#nowhere).\n\n"
            "```\nmake test\nmake bench\npython -m tuning search --epochs 2\npython -m tuning search --epochs two\n"
            "python benchmarks/missing.py\n```\n\n`python -m tuning verdict` names a command.\n\n"
            "Source: `benchmarks/results/speed.csv`\n\n| layer | ms | ratio |\n|---|---|---|\n"
            "| fixed | 6.31 | 1.00 |\n| relu | 7.15 | 1.14 |\n| elu | 8 | 1 |\n"
        )
    }
    problems = readme_check.check_pages(pages, root=str(tmp_path))
    assert problems[:3] == [
        "README.md: link to docs/gone.md: no such file",
        "README.md: link to docs/speed.md#nowhere: docs/speed.md has no heading #nowhere",
        "README.md: `make bench`: no make target bench",
    ]
    assert problems[3].startswith(
        "README.md: `python -m tuning search --epochs two` does not parse: error: "
        "argument --epochs: invalid int value"
    )
    assert problems[4:] == [
        "README.md: `python benchmarks/missing.py`: no file benchmarks/missing.py",
        "README.md: row '| relu | 7.15 | 1.14 |': 7.15 is in no value of its source rows",
        "README.md: row '| elu | 8 | 1 |' names no row of its source",
    ]
