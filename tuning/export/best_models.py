"""Exporting the best trials: every format plus model_card.json, atomically."""

import datetime
import functools
import importlib.metadata
import os
import platform
import warnings

import keras
import keras_tuner
import numpy as np
import tensorflow as tf

import keras_lrelu
from keras_lrelu import _compat as compat
from tuning import atomic
from tuning import paths
from tuning.export import files
from tuning.export import formats
from tuning.export import keras_file
from tuning.export import on_tensorflow
from tuning.keras_backend import BACKENDS
from tuning.names import CARD_NAME
from tuning.quiet import native_stderr_silenced
from tuning.search import records
from tuning.search import results
from tuning.search.hypermodel import hyperparameter_text
from tuning.verdict import margin_text
from tuning.verdict import stats


def export_best(tuner, dataset, export_root, frame, verdict, top_k=1, command="", format_names=None):
    """Exports the `top_k` best finished configurations of the results
    `frame` (by mean val_accuracy; pruned ones never) to `export_root/best`,
    `export_root/rank-2`, ... Each model is its configuration's best repeat
    restored from that repeat's best-epoch checkpoint (not retrained) and
    written as model.keras plus `format_names` (default: the registry's
    default set, tuning/export/formats.py); the card holds the
    configuration's statistics and the search's `verdict`. A REFUSED
    trial (hyperparameters outside the search space) is never rebuilt.
    Returns the folders written."""
    format_names = formats.default_names() if format_names is None else format_names
    folders = []
    table = results.ranked(frame)
    # A trial of an older release has no record of repeats to export from.
    finished = table[(table["status"] == "COMPLETED") & (table["repeats"] > 0)].head(top_k)
    for rank, row in enumerate(finished.to_dict("records"), start=1):
        trial = tuner.oracle.trials[row["trial_id"]]
        folder = paths.export_folder(export_root, rank)
        paths.check_export_target(folder)
        with warnings.catch_warnings():
            # The checkpoint holds optimizer state a model for serving does not need.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = tuner.load_model(trial)
        # model.keras keeps the compiled model with a fresh optimizer (none of
        # the trial's state); built, so that loading the file warns of nothing,
        # and its metrics too, before the card's evaluate.
        compat.build_metrics(model, dataset.x_test, dataset.y_test)
        record = records.load(tuner.project_dir, trial.trial_id)
        card = model_card(model, trial, dataset, rank, command, row, record, verdict)
        card["base_model"] = tuner.hypermodel.describe()
        atomic.replace_folder(folder, functools.partial(_save, model, card, dataset, format_names))
        folders.append(folder)
    return folders


def model_card(model, trial, dataset, rank, command, row, record, verdict):
    """What a user needs to serve and trust the model, as a JSON-able dict:
    the exported repeat's own validation and held-out test scores, beside
    its configuration's mean and interval over repeats and the verdict."""
    values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
    if values.get("mode") == "relu":
        values["alpha"] = 0.0
    test_loss, test_accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    tested = len(dataset.y_test)
    correct = int(round(test_accuracy * tested))
    best = records.best_repeat(record)
    exported = record["repeats"][str(best)]["metrics"]
    metrics = {name: exported[name] for name in ("val_loss", "accuracy", "loss") if name in exported}
    metrics.update(
        val_accuracy_selected=exported["val_accuracy"],
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
    )
    per_repeat = [run["metrics"]["val_accuracy"] for run in records.ordered(record)]
    size = len(dataset.y_val)
    return {
        "test_accuracy": {
            "value": correct / tested,
            "correct": correct,
            "images": tested,
            "ci95_wilson": list(stats.wilson(correct, tested)),
            "what": "this model on the held-out test images, which no choice of the search saw",
        },
        "description": _description(verdict, size),
        "dataset": dataset.name,
        "class_names": dataset.class_names,
        "input_shape": dataset.input_shape,
        "pixel_max": dataset.pixel_max,
        "input": "float32 images [N, H, W, C] in the dataset's own pixel scale (0 to pixel_max)",
        "output": "class probabilities [N, len(class_names)]",
        "hyperparameters": values,
        "metrics": metrics,
        "metrics_note": f"val_accuracy_selected is the highest of the configuration's {len(per_repeat)} repeats, "
        "each at its best epoch: chosen on that number, so flattered by the choice; the test "
        "accuracy is not",
        "configuration": {
            "repeats": len(per_repeat),
            "val_accuracy_mean": row["val_accuracy"],
            "val_accuracy_std": row["val_accuracy_std"],
            "val_accuracy_ci95": [row["val_accuracy_low"], row["val_accuracy_high"]],
            "val_accuracy_ci95_over": f"{len(per_repeat)} training seeds on one validation set of {size} images "
            "(its own sampling error is not in it)",
            "val_accuracy_per_repeat": per_repeat,
            "exported_repeat": best + 1,
            "seed_of_exported_repeat": record["repeats"][str(best)]["seed"],
        },
        "verdict": {key: value for key, value in verdict.items() if key != "command"},
        "learned_alpha": {
            name: np.asarray(value).tolist() for name, value in keras_lrelu.get_alphas(model).items()
        },
        "trial_id": trial.trial_id,
        "rank": rank,
        "weights": "the best epoch by val_accuracy of the configuration's best repeat, restored "
        "from its checkpoint",
        "splits": {
            "train": len(dataset.y_train),
            "validation": len(dataset.y_val),
            "test": len(dataset.y_test),
        },
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "command": command,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "summary": hyperparameter_text(values),
    }


def _description(verdict, size):
    """What the card's verdict means, in one paragraph."""
    what = {
        "better": "a leaky slope beat ReLU beyond noise",
        "worse": "a leaky slope fell short of ReLU beyond noise",
        "equivalent": f"the best leaky configuration was within {margin_text(verdict['margin_points'])} of ReLU's "
        "accuracy",
        "undecided": "the search could not tell whether a leaky slope beats ReLU, falls short of it or stays "
        "within the margin",
        None: "no leaky configuration was tested against ReLU",
    }[verdict.get("decision")]
    on = verdict.get("against_relu", {}).get("on")
    basis = {
        "confirmation": "on confirmation repeats trained from seeds no choice used; ",
        "search": "on the repeats that chose the best, so optimistically; ",
    }.get(on, "")
    return (
        f"Verdict: {what} ({basis}an exact sign-flip test across repeats on {size} validation images: "
        "better or worse at 5% two-sided, equivalent by two one-sided tests at 5%, each Bonferroni-corrected "
        "over the comparisons and split over the looks). The verdict's text and numbers are under `verdict`."
    )


def _versions():
    """The versions that trained the model and wrote its files (TensorFlow
    writes the formats on every backend)."""
    versions = {
        "keras_lrelu": keras_lrelu.__version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "keras_tuner": keras_tuner.__version__,
        "python": platform.python_version(),
    }
    package = BACKENDS[keras.backend.backend()][0]
    if package not in versions:
        versions[package] = importlib.metadata.version(package)
    return versions


def _save(model, card, dataset, format_names, folder):
    """Fills an export folder: model.keras (saved by the backend that
    trained it), the chosen formats (made from it on TensorFlow), and the
    card with each file's held-out accuracy, measured in its own runtime."""
    with native_stderr_silenced():
        keras_file.save(model, os.path.join(folder, keras_file.FILE))
    card["formats"] = on_tensorflow.write(folder, format_names, dataset, model)
    # Ties the card to the files: predict checks them before loading any.
    card["sha256"] = files.digests(folder)
    with open(os.path.join(folder, CARD_NAME), "w") as f:
        f.write(atomic.to_json(card))
