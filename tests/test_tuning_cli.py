"""`python -m tuning` driven as a user would: real subprocesses, files on disk."""

import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest
from conftest import SUBPROCESS_ENV
from conftest import assert_one_error_line
from conftest import blocking
from conftest import cli
from conftest import cli_in_process
from conftest import ok
from conftest import run_python
from PIL import Image

import keras_lrelu  # noqa: F401  (registers the layers for model.keras)
from tuning import data
from tuning.data import downloads
from tuning.data.images import open_image
from tuning.data.images import to_array
from tuning.errors import UsageError
from tuning.export import files
from tuning.export import formats

pytestmark = pytest.mark.slow
SMOKE = ["--max-trials", "2", "--epochs", "1", "--seed", "0"]
# For searches whose test is about neither the export formats nor fresh processes: the
# SavedModel only, and every trial in one process (a fresh one costs a TensorFlow import).
QUICK = ["--export-formats", "saved_model", "--trials-per-process", "0"]
# What an export without --export-formats holds: model.keras and the registry's default set.
FILES = ["saved_model", "model.keras"] + [
    files for files in map(formats.file_name, formats.default_names()) if files != "saved_model"
]


LRELU_TUNE = os.path.join(os.path.dirname(sys.executable), "lrelu-tune")
# A `tuning` package in the folder a user works in (anyone's): what `python
# -m tuning` would import from there, first, if a fresh process ran it so.
DECOY = "import pathlib, sys\npathlib.Path('hijacked').write_text('decoy ran')\nsys.exit(3)\n"


@pytest.fixture(scope="session")
def default_search(tmp_path_factory):
    """The default dataset (bundled mnist5k) with a smoke budget, through
    the console script, from a folder holding a decoy `tuning` package.
    Session-scoped, and its tests are one xdist group (conftest), so it is
    made once per run."""
    cwd = tmp_path_factory.mktemp("default")
    (cwd / "tuning").mkdir()
    (cwd / "tuning" / "__init__.py").write_text("")
    (cwd / "tuning" / "__main__.py").write_text(DECOY)
    result = subprocess.run(
        [LRELU_TUNE, "search", *SMOKE],
        cwd=cwd,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    shutil.rmtree(cwd / "tuning")  # the other tests run `python -m tuning` here
    ok(result)
    return cwd, result


def test_search_writes_table_plot_and_export(default_search):
    cwd, result = default_search
    stdout = result.stdout
    progress = [line for line in stdout.splitlines() if line.startswith("trial ")]
    assert [line.split()[1] for line in progress] == ["1/2", "2/2"]
    # One trial per process by default: trial 2 ran in a fresh one, which resumed the search,
    # with the package the first one ran, not the decoy in the current folder.
    assert progress[1].endswith("(fresh process)") and not progress[0].endswith("(fresh process)")
    assert not (cwd / "hijacked").exists()
    project = cwd / "runs" / "alpha-mnist5k"
    frame = pd.read_csv(project / "results.csv")
    assert len(frame) == 2 and (frame["status"] == "COMPLETED").all()
    # Grappler's remapper logged `E0000 ... remapper failed` for Conv2D + BiasAdd + LeakyRelu
    # whose gradient read the BiasAdd it fused away (keras_lrelu/_tensorflow.py); seed 0 draws
    # a fixed slope.
    assert "fixed" in set(frame["mode"])
    assert "E0000" not in result.stderr and "remapper" not in result.stderr
    assert {
        "trial_id",
        "status",
        "mode",
        "alpha",
        "learned_alpha",
        "val_accuracy",
        "val_loss",
        "seconds",
    } <= set(frame.columns)
    assert frame["command"].iloc[0] == "python -m tuning search " + " ".join(SMOKE)
    assert (project / "results.png").stat().st_size > 10_000
    best = cwd / "saved_models" / "alpha-mnist5k" / "best"
    assert "exported: saved_models/alpha-mnist5k/best" in stdout
    assert {
        "saved_model.pb",
        "model.keras",
        "model_card.json",
        "model.tflite",
        "model_int8.tflite",
        "model.onnx",
    } <= {p.name for p in best.iterdir()}
    # The card ties itself to every file of the export, which predict checks before loading.
    digests = json.loads((best / "model_card.json").read_text())["sha256"]
    assert set(digests) == {
        p.relative_to(best).as_posix() for p in best.rglob("*") if p.is_file() and p.name != "model_card.json"
    }
    assert {"saved_model.pb", "model.onnx", "variables/variables.index"} <= set(digests)
    assert all(files.sha256(best / name) == digest for name, digest in digests.items())
    assert not list(best.parent.glob(".*tmp*")), "no temporary export left behind"
    card = json.loads((best / "model_card.json").read_text())
    assert card["dataset"] == "mnist5k" and card["class_names"] == [str(i) for i in range(10)]
    assert card["input_shape"] == [28, 28, 1]
    assert card["hyperparameters"]["mode"] in ("fixed", "trainable", "channelwise", "randomized", "relu")
    assert "alpha" in card["hyperparameters"]
    best_row = frame.sort_values("val_accuracy").iloc[-1]
    assert card["metrics"]["val_accuracy_selected"] == pytest.approx(best_row["val_accuracy"])
    # One run per configuration: the verdict says that it cannot tell them apart.
    verdict = json.loads((project / "verdict.json").read_text())
    assert verdict["repeats"] == 1 and verdict["best"]["trial_id"] == card["trial_id"]
    assert (
        f"\n{verdict['text']}\n" in stdout
        and "(--repeats 1): one run per configuration cannot tell them from luck" in stdout
    )
    assert card["configuration"]["repeats"] == 1 and card["configuration"]["val_accuracy_ci95"] == [
        None,
        None,
    ]
    assert set(card["versions"]) >= {"keras_lrelu", "keras", "tensorflow", "keras_tuner"}
    assert card["backend"] == "tensorflow" and frame["backend"].tolist() == ["tensorflow", "tensorflow"]
    assert stdout.startswith(f"training on Keras {keras.__version__}'s tensorflow backend\n")
    assert card["command"].startswith("python -m tuning search")
    # The card's test accuracy is the exported model's on the held-out split.
    model = keras.models.load_model(best / "model.keras")
    dataset = data.load("mnist5k", seed=0)
    _, accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    assert card["metrics"]["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.5
    # Every file, measured in its own runtime on the same held-out images.
    assert sorted(card["formats"]) == sorted(FILES)
    for name in FILES[1:]:
        assert card["formats"][name]["bytes"] == (best / name).stat().st_size
    assert card["formats"]["saved_model"]["bytes"] > (best / "saved_model.pb").stat().st_size
    for name in ("saved_model", "model.keras", "model.tflite", "model.onnx"):  # float32: same model
        assert card["formats"][name]["test_accuracy"] == pytest.approx(accuracy, abs=0.002)
    assert card["formats"]["model_int8.tflite"]["test_accuracy"] == pytest.approx(accuracy, abs=0.05)
    assert card["formats"]["model_int8.tflite"]["bytes"] < card["formats"]["model.tflite"]["bytes"] / 2


def _digit_pngs(folder, count):
    """The first `count` held-out mnist5k digits as PNG files in `folder`;
    returns their names and the dataset."""
    dataset = data.load("mnist5k", seed=0)
    names = [f"digit{i}.png" for i in range(count)]
    for i, name in enumerate(names):
        Image.fromarray(dataset.x_test[i, ..., 0].astype("uint8")).save(folder / name)
    return names, dataset


@pytest.fixture(scope="session")
def used_without_the_plugin(default_search):
    """The default search's export used as a user without keras_lrelu
    would, all in one new interpreter (one TensorFlow start) where
    keras_lrelu cannot be imported: the SavedModel served by TensorFlow and
    through Keras's TFSMLayer on 16 held-out images; `python -m tuning
    predict` (the package run as a program) with the export folder on 8
    digit PNGs; then the command line's main() with the LiteRT float and
    int8 and ONNX files on the same PNGs. Returns the folder of what each
    wrote, the PNGs' names, the dataset, and the models (the export folder
    first)."""
    cwd, _ = default_search
    best = cwd / "saved_models" / "alpha-mnist5k" / "best"
    folder = cwd / "without_the_plugin"
    folder.mkdir()
    names, dataset = _digit_pngs(folder, 8)
    np.save(folder / "x.npy", dataset.x_test[:16])
    models = [best, *(best / name for name in ("model.tflite", "model_int8.tflite", "model.onnx"))]
    run_python(
        f"""
        import contextlib, io, runpy
        import numpy as np, tensorflow as tf, keras
        x = np.load("x.npy")
        served = tf.saved_model.load({str(best)!r})
        np.save("served.npy", served.serve(x).numpy())
        np.save("tfsm.npy", np.asarray(keras.layers.TFSMLayer({str(best)!r}, call_endpoint="serve")(x)))

        sys.argv = ["tuning", "predict", {str(best)!r}, *{names!r}]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                runpy.run_module("tuning", run_name="__main__")
            except SystemExit as exit:
                assert exit.code == 0, exit.code
        open("predict.txt", "w").write(out.getvalue())

        from tuning.__main__ import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            for model in {[str(m) for m in models[1:]]!r}:
                assert main(["predict", model, *{names!r}]) == 0
        open("predict_files.txt", "w").write(out.getvalue())
        """,
        cwd=folder,
        block_plugin=True,
    )
    return folder, names, dataset, models


def test_export_serves_raw_pixels_without_the_plugin(used_without_the_plugin):
    folder, _, dataset, (best, *_) = used_without_the_plugin
    expected = keras.models.load_model(best / "model.keras").predict(dataset.x_test[:16], verbose=0)
    for name in ("served.npy", "tfsm.npy"):
        probabilities = np.load(folder / name)
        assert probabilities.shape == (16, 10)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-6)


def _rows(path):
    return [line.split("\t") for line in path.read_text().strip().splitlines()]


def test_predict_names_a_class_per_image_without_the_plugin(used_without_the_plugin):
    folder, names, dataset, (best, *_) = used_without_the_plugin
    lines = _rows(folder / "predict.txt")
    assert [line[0] for line in lines] == names
    model = keras.models.load_model(best / "model.keras")
    expected = model.predict(dataset.x_test[: len(names)], verbose=0)
    for (_, label, probability), row in zip(lines, expected):
        assert label == str(row.argmax())
        assert float(probability) == pytest.approx(row.max(), abs=1e-4)


def test_predict_with_litert_and_onnx_files_gives_the_savedmodels_classes(used_without_the_plugin):
    folder, names, _, models = used_without_the_plugin
    served, rows = _rows(folder / "predict.txt"), _rows(folder / "predict_files.txt")
    assert len(rows) == len(models[1:]) * len(names)
    for index, model in enumerate(models[1:]):
        other = rows[index * len(names) : (index + 1) * len(names)]
        assert [row[:2] for row in other] == [row[:2] for row in served], model.name
        tolerance = 0.05 if "int8" in model.name else 1e-4
        for (_, _, theirs), (_, _, ours) in zip(served, other):
            assert float(ours) == pytest.approx(float(theirs), abs=tolerance), model.name


def test_predict_with_a_model_file_without_its_card_or_corrupt_is_one_error_line(
    default_search, tmp_path, capsys
):
    cwd, _ = default_search
    best = cwd / "saved_models" / "alpha-mnist5k" / "best"
    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    shutil.copy(best / "model.onnx", tmp_path / "model.onnx")

    def predict(model):
        return cli_in_process(["predict", model, "a.png"], tmp_path, capsys)

    assert_one_error_line(predict("model.onnx"), r"error: no model card beside model\.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    (tmp_path / "broken.tflite").write_bytes((best / "model.tflite").read_bytes()[:200])
    # A card that vouches for the broken files: the runtime itself must refuse them.
    card = json.loads((best / "model_card.json").read_text())
    card["sha256"].update({name: files.sha256(tmp_path / name) for name in ("broken.onnx", "broken.tflite")})
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    assert_one_error_line(predict("broken.onnx"), r"error: cannot load broken\.onnx: ")
    assert_one_error_line(predict("broken.tflite"), r"error: cannot load broken\.tflite: ")
    assert_one_error_line(predict("nothing.onnx"), r"error: no such file or folder: nothing\.onnx")
    # A real process, in which TensorFlow and Keras cannot be imported: an ONNX or LiteRT file
    # needs only its own runtime (and the command starts in a fraction of a second).
    shutil.copy(best / "model.tflite", tmp_path / "model.tflite")
    card["sha256"]["model.tflite"] = files.sha256(tmp_path / "model.tflite")
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    for model in ("model.onnx", "model.tflite"):
        run = f"import runpy, sys\nsys.argv = ['tuning', 'predict', {model!r}, 'a.png']\n"
        printed = run_python(
            blocking("tensorflow", "keras") + run + "runpy.run_module('tuning', run_name='__main__')\n",
            tmp_path,
        )
        assert printed.startswith("a.png\t"), model


def test_rerun_resumes_without_retraining_and_overwrite_restarts(default_search, tmp_path, capsys):
    cwd, _ = default_search
    shutil.copytree(cwd / "runs", tmp_path / "runs")
    before = pd.read_csv(tmp_path / "runs" / "alpha-mnist5k" / "results.csv")
    stdout = ok(
        cli_in_process(
            ["search", "--max-trials", "3", "--epochs", "1", "--seed", "0", *QUICK], tmp_path, capsys
        )
    )
    assert "trial 3/3" in stdout and "trial 1/3" not in stdout and "trial 2/3" not in stdout
    after = pd.read_csv(tmp_path / "runs" / "alpha-mnist5k" / "results.csv")
    assert len(after) == 3
    kept = ["trial_id", "mode", "alpha", "val_accuracy", "seconds"]
    pd.testing.assert_frame_equal(after[kept].iloc[:2], before[kept])  # same seconds: not retrained
    # --overwrite starts afresh; the same trials all in one process (this one) train
    # exactly as the default search's did, one process each.
    stdout = ok(cli_in_process(["search", *SMOKE, "--overwrite", "--quiet", *QUICK], tmp_path, capsys))
    assert "trial 1/" not in stdout
    again = pd.read_csv(tmp_path / "runs" / "alpha-mnist5k" / "results.csv")
    same = ["trial_id", "mode", "alpha", "val_accuracy", "val_loss", "inactive_fraction"]
    pd.testing.assert_frame_equal(again[same], before[same])


def test_npz_dataset(tmp_path, capsys):
    digits = data.load("digits", seed=0)
    np.savez(
        tmp_path / "digits.npz",
        x_train=digits.x_train[..., 0],
        y_train=digits.y_train,
        x_test=digits.x_test[..., 0],
        y_test=digits.y_test,
    )
    ok(
        cli_in_process(
            ["search", "--dataset", "digits.npz", "--tuner", "random", *SMOKE, *QUICK], tmp_path, capsys
        )
    )
    card = json.loads((tmp_path / "saved_models" / "alpha-digits" / "best" / "model_card.json").read_text())
    assert card["dataset"] == "digits.npz" and card["input_shape"] == [8, 8, 1]
    assert card["splits"]["test"] == len(digits.y_test) and card["pixel_max"] == 16.0


def test_image_folder_dataset_and_predict(tmp_path, capsys):
    rng = np.random.RandomState(0)
    colours = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}
    for name, colour in colours.items():
        (tmp_path / "shapes" / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.randint(-25, 25, (16, 20, 3)), 0, 255)
            Image.fromarray(pixels.astype("uint8")).save(tmp_path / "shapes" / name / f"{i}.png")
    ok(
        cli_in_process(
            [
                "search",
                "--dataset",
                "shapes",
                "--image-size",
                "12",
                "12",
                "--tuner",
                "random",
                "--max-trials",
                "2",
                "--epochs",
                "3",
                "--export-top",
                "2",
                *QUICK,
            ],
            tmp_path,
            capsys,
        )
    )
    export = tmp_path / "saved_models" / "alpha-shapes"
    card = json.loads((export / "best" / "model_card.json").read_text())
    assert card["class_names"] == ["blue", "green", "red"] and card["input_shape"] == [12, 12, 3]
    assert card["pixel_max"] == 255.0, "8-bit images, though none of these reaches 255"
    assert json.loads((export / "rank-2" / "model_card.json").read_text())["rank"] == 2
    images = [str(tmp_path / "shapes" / name / "0.png") for name in colours]
    stdout = ok(cli_in_process(["predict", str(export / "best"), *images], tmp_path, capsys))
    rows = [line.split("\t") for line in stdout.strip().splitlines()]
    # What the exported model.keras says of the same images, at their 12x12 size.
    model = keras.models.load_model(export / "best" / "model.keras")
    pixels = np.stack([to_array(open_image(path), (12, 12), "RGB", path) for path in images])
    expected = model.predict(pixels, verbose=0)
    assert [row[0] for row in rows] == ["0.png"] * 3
    assert [row[1] for row in rows] == [card["class_names"][i] for i in expected.argmax(axis=1)]
    np.testing.assert_allclose([float(row[2]) for row in rows], expected.max(axis=1), atol=1e-4)


def _write_npz_without_labels(folder):
    np.savez(folder / "nolabels.npz", x_train=np.zeros((4, 3, 3)))
    return "nolabels.npz"


def _write_one_class_folder(folder):
    (folder / "one" / "only").mkdir(parents=True)
    Image.new("L", (4, 4)).save(folder / "one" / "only" / "a.png")
    return "one"


BAD_SEARCHES = [
    (["--dataset", "nope"], r"error: unknown dataset 'nope'"),
    (["--dataset", "missing.npz"], r"error: no such file: missing\.npz"),
    (["--dataset", "corrupt.npz"], r"error: cannot read corrupt\.npz as \.npz"),
    (["--dataset", _write_npz_without_labels], r"error: nolabels\.npz has no y_train"),
    (["--dataset", _write_one_class_folder], r"error: one must hold at least two class subfolders"),
    (["--max-trials", "0"], r"error: --max-trials must be between 1 and 10000, got 0$"),
    (["--threads", "0"], r"error: --threads must be between 1 and 1024, got 0$"),
    (["--epochs", "0"], r"error: --epochs must be between 1 and 10000, got 0$"),
    (["--alpha-min", "0"], r"error: --alpha-min must be > 0 and <= 1, got 0\.0$"),
    (
        ["--alpha-min", "0.5", "--alpha-max", "0.1"],
        r"error: need --alpha-min < --alpha-max, got 0\.5 and 0\.1$",
    ),
    (["--tuner", "annealing"], r"error: argument --tuner: invalid choice: 'annealing'"),
    (["--modes", "fixed,swish"], r"error: unknown mode swish"),
    (["--max-trials", "two"], r"error: argument --max-trials: invalid int value: 'two'"),
    (
        ["--export-formats", "saved_model,tfjs"],
        r"error: unknown export format tfjs; use a comma list of \S*saved_model\S*$",
    ),
    (["--repeats", "0"], r"error: --repeats must be between 1 and 100, got 0$"),
    (["--repeats", "101"], r"error: --repeats must be between 1 and 100, got 101$"),
    (["--prune", "sometimes"], r"error: argument --prune: invalid choice: 'sometimes'"),
    (["--confirm", "101"], r"error: --confirm must be between 0 and 100, got 101$"),
    (["--margin", "0"], r"error: --margin must be > 0 and <= 100, got 0\.0$"),
    (
        ["--tuner", "hyperband", "--repeats", "3"],
        r"error: --repeats 3 with --tuner hyperband: a continued "
        r"Hyperband trial starts from its parent's best repeat, so its repeats would share one starting point; "
        r"use --repeats 1 with hyperband \(--confirm K still retests the winner on fresh repeats\), or another tuner$",
    ),
]


@pytest.mark.parametrize(
    "args, message",
    BAD_SEARCHES,
    ids=[" ".join(getattr(v, "__name__", v) for v in a) for a, _ in BAD_SEARCHES],
)
def test_bad_search_input_is_one_error_line(tmp_path, args, message, capsys):
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 truncated")
    args = [a(tmp_path) if callable(a) else a for a in args]
    result = cli_in_process(["search", *args], tmp_path, capsys)
    assert_one_error_line(result, message)
    assert not (tmp_path / "saved_models").exists() and not (tmp_path / "runs").exists()


def test_threads_come_from_the_option_then_the_environment(monkeypatch):
    from tuning import limits

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    assert (limits.intra_op_threads(1), limits.intra_op_threads(None)) == (1, 3)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS")
    assert limits.intra_op_threads(None) == os.cpu_count()
    for value in ("two", "0", "-1", "2000"):
        monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", value)
        with pytest.raises(
            limits.UsageError,
            match=rf"TF_NUM_INTRAOP_THREADS must be a whole number from 1 to 1024, got '{value}'",
        ):
            limits.intra_op_threads(None)


def test_commands_put_tensorflows_objects_out_of_the_collectors_reach():
    """KerasTuner clears the Keras session, a full garbage collection, before
    every model it builds: the objects TensorFlow and Keras made on import
    are frozen once, when a command starts TensorFlow."""
    from tuning.quiet import import_tensorflow_quietly

    gc.unfreeze()  # the suite's own freeze (conftest.frozen_imports)
    try:
        assert gc.get_freeze_count() == 0
        import_tensorflow_quietly()
        assert gc.get_freeze_count() > 100_000
        assert gc.isenabled()  # off only while TensorFlow is imported
        gc.disable()  # a caller's choice stays
        import_tensorflow_quietly()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.freeze()


def test_keras_dataset_offline_is_one_error_line(tmp_path):
    # A proxy on a closed loopback port: the download fails at once, and
    # never leaves this machine.
    env = dict(
        SUBPROCESS_ENV,
        KERAS_HOME=str(tmp_path / "keras_home"),
        https_proxy="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
    )
    result = cli(["search", "--dataset", "fashion_mnist"], tmp_path, env=env)
    assert_one_error_line(result, r"error: could not download fashion_mnist .*check the network")
    assert "Downloading" not in result.stdout, result.stdout  # Keras's line is held back
    assert not (tmp_path / "saved_models").exists()


def test_predict_without_a_savedmodel_is_one_error_line(tmp_path, capsys):
    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    result = cli_in_process(["predict", str(tmp_path), "a.png"], tmp_path, capsys)
    assert_one_error_line(result, r"error: no model card beside ")
    card = {"class_names": ["a", "b"], "input_shape": [28, 28, 1], "pixel_max": 255, "sha256": {}}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    result = cli_in_process(["predict", str(tmp_path), "a.png"], tmp_path, capsys)
    assert_one_error_line(result, r"error: .* holds no SavedModel")


def test_predict_unreadable_image_is_one_error_line(default_search, tmp_path, capsys):
    cwd, _ = default_search
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    best = cwd / "saved_models" / "alpha-mnist5k" / "best"
    result = cli_in_process(["predict", str(best), "broken.png"], tmp_path, capsys)
    assert_one_error_line(result, r"error: cannot read image broken\.png")


def test_console_script_is_installed(tmp_path):
    result = subprocess.run([LRELU_TUNE, "search", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "--alpha-min" in result.stdout and "resumes" in result.stdout


def test_search_killed_mid_trial_resumes_keeping_finished_trials_and_repeats(tmp_path, capsys):
    command = [
        sys.executable,
        "-m",
        "tuning",
        "search",
        "--dataset",
        "digits",
        "--tuner",
        "random",
        "--max-trials",
        "2",
        "--epochs",
        "2",
        "--seed",
        "0",
        "--repeats",
        "2",
        *QUICK,
    ]
    record = tmp_path / "runs" / "alpha-digits" / "trial_1" / "repeats.json"
    process = subprocess.Popen(
        command, cwd=tmp_path, env=SUBPROCESS_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 300
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # until trial 2's first repeat is recorded, into its second
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    table = tmp_path / "runs" / "alpha-digits" / "results.csv"
    before = pd.read_csv(table)
    assert before["status"].tolist() == ["COMPLETED"], "only trial 1 had finished"
    first_repeat = json.loads(record.read_text())
    assert list(first_repeat["repeats"]) == ["0"], "killed in trial 2's second repeat"
    stdout = ok(cli_in_process(command[3:], tmp_path, capsys))  # resumed: the killed process was the real one
    assert "trial 1/2" not in stdout and "trial 2/2" in stdout
    after = pd.read_csv(table)
    assert after["status"].tolist() == ["COMPLETED"] * 2 and after["repeats"].tolist() == [2, 2]
    kept = ["trial_id", "mode", "alpha", "val_accuracy", "seconds"]
    pd.testing.assert_frame_equal(after[kept].iloc[:1], before[kept])  # trial 1 not retrained
    resumed = json.loads(record.read_text())["repeats"]
    assert resumed["0"] == first_repeat["repeats"]["0"], "trial 2's first repeat not retrained"
    assert resumed["1"]["seed"] == 1000
    assert after["val_accuracy_1"].iloc[1] == pytest.approx(
        first_repeat["repeats"]["0"]["metrics"]["val_accuracy"]
    )
    assert (tmp_path / "saved_models" / "alpha-digits" / "best" / "saved_model.pb").exists()


def test_resuming_with_another_number_of_repeats_is_one_error_line(default_search, tmp_path, capsys):
    cwd, _ = default_search
    shutil.copytree(cwd / "runs", tmp_path / "runs")
    result = cli_in_process(["search", *SMOKE, "--repeats", "3"], tmp_path, capsys)
    assert_one_error_line(
        result,
        r"error: cannot resume runs/alpha-mnist5k with --repeats 3: it was searched "
        r"with --repeats 1; rerun with --repeats 1, or start afresh with --overwrite$",
    )
    assert not (tmp_path / "saved_models").exists()


def test_resuming_on_another_backend_is_one_error_line(default_search, tmp_path, capsys):
    cwd, _ = default_search
    shutil.copytree(cwd / "runs", tmp_path / "runs")
    record = tmp_path / "runs" / "alpha-mnist5k" / "trial_1" / "repeats.json"
    record.write_text(json.dumps(dict(json.loads(record.read_text()), backend="jax")))
    result = cli_in_process(["search", *SMOKE], tmp_path, capsys)
    assert_one_error_line(
        result,
        r"error: cannot resume runs/alpha-mnist5k with --backend tensorflow: it was "
        r"searched with --backend jax; rerun with --backend jax, or start afresh with --overwrite$",
    )
    assert not (tmp_path / "saved_models").exists()


@pytest.mark.parametrize(
    "option, value, recorded",
    [
        ("--seed", "1", "0"),
        ("--epochs", "2", "1"),
        ("--batch-size", "32", "64"),
        ("--prune", "median", "none"),
        ("--margin", "0.5", "1.0"),
        ("--threads", "1", None),
        ("--image-size", "8 8", "(none)"),
    ],
)
def test_resuming_with_a_setting_that_breaks_the_pairs_is_one_error_line(
    default_search, tmp_path, capsys, option, value, recorded
):
    cwd, _ = default_search
    shutil.copytree(cwd / "runs", tmp_path / "runs")
    pairing = json.loads((tmp_path / "runs" / "alpha-mnist5k" / "pairing.json").read_text())
    recorded = recorded or str(pairing["threads"])
    if option == "--threads" and value == recorded:
        value = "2" if recorded == "1" else "1"
    args = ["search", *SMOKE, option, *value.split()]
    if option == "--seed":
        args = ["search", *SMOKE[:-2], option, value]
    result = cli_in_process(args, tmp_path, capsys)
    assert_one_error_line(
        result,
        rf"error: cannot resume runs/alpha-mnist5k with {option} {re.escape(value)}: it "
        rf"was searched with {option} {re.escape(recorded)}; rerun with {option} "
        rf"{re.escape(recorded)}, or start afresh with --overwrite$",
    )
    assert not (tmp_path / "saved_models").exists()


def test_resuming_on_other_images_of_the_same_name_is_one_error_line(tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 255, (60, 8, 8)).astype("uint8")
    labels = np.arange(60) % 3
    np.savez(tmp_path / "mine.npz", x_train=images, y_train=labels)
    ok(
        cli_in_process(
            ["search", "--dataset", "mine.npz", "--max-trials", "1", "--epochs", "1", *QUICK],
            tmp_path,
            capsys,
        )
    )
    # The same images spelled as another path resume (the dataset is its content, not its name).
    ok(
        cli_in_process(
            ["search", "--dataset", "./mine.npz", "--max-trials", "1", "--epochs", "1", *QUICK],
            tmp_path,
            capsys,
        )
    )
    np.savez(tmp_path / "mine.npz", x_train=images[::-1], y_train=labels[::-1])  # same name, other order
    result = cli_in_process(
        ["search", "--dataset", "mine.npz", "--max-trials", "2", "--epochs", "1", *QUICK], tmp_path, capsys
    )
    assert_one_error_line(
        result,
        r"error: cannot resume runs/alpha-mine with --dataset mine\.npz \(other images\): "
        r"it was searched with --dataset mine\.npz; rerun with --dataset mine\.npz, or start "
        r"afresh with --overwrite$",
    )


def test_a_corrupt_trial_file_is_one_error_line_naming_it(default_search, tmp_path, capsys):
    cwd, _ = default_search
    shutil.copytree(cwd / "runs", tmp_path / "runs")
    broken = tmp_path / "runs" / "alpha-mnist5k" / "trial_0" / "trial.json"
    broken.write_text('{"trial_id": "0", "hyperpar')
    result = cli_in_process(["search", *SMOKE], tmp_path, capsys)
    assert_one_error_line(result, r"error: cannot resume: .*trial_0/trial\.json is corrupt .*--overwrite")
    assert not (tmp_path / "saved_models").exists()


def test_a_kill_during_export_leaves_the_previous_export_whole(default_search, tmp_path, capsys):
    cwd, _ = default_search
    for folder in ("runs", "saved_models"):
        shutil.copytree(cwd / folder, tmp_path / folder)
    best = tmp_path / "saved_models" / "alpha-mnist5k" / "best"
    card_before = (best / "model_card.json").read_text()
    process = subprocess.Popen(
        [sys.executable, "-m", "tuning", "search", *SMOKE],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not list(best.parent.glob(".best.new-*")) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the export is being written
        assert process.poll() is None, "the export finished before it could be interrupted"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert list(best.parent.glob(".best.new-*")), "killed mid-export"
    # The previous export, whole: the new one was never renamed into place.
    assert {"saved_model.pb", "model.keras", "model_card.json", "variables"} <= {
        p.name for p in best.iterdir()
    }
    assert (best / "model_card.json").read_text() == card_before
    ok(cli_in_process(["search", *SMOKE, "--export-formats", "saved_model"], tmp_path, capsys))
    assert [p.name for p in best.parent.iterdir()] == ["best"], "the rerun clears what the kill left"
    assert (
        json.loads((best / "model_card.json").read_text())["trial_id"] == json.loads(card_before)["trial_id"]
    )


def test_only_a_network_failure_reads_as_could_not_download(monkeypatch, capsys):
    import urllib.error

    import keras

    from tuning import data

    def offline():
        print("Downloading data from https://example/cifar-10-python.tar.gz")
        try:
            raise urllib.error.URLError("Name or service not known")
        except urllib.error.URLError:
            # As keras.utils.get_file re-raises it: chained by context, not by cause.
            raise Exception("URL fetch failure on https://example: None -- Name or service not known")  # noqa: B904

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(UsageError, match=r"could not download cifar10 \(Name or service not known\)"):
        data.load("cifar10")
    assert capsys.readouterr().out == ""  # no "Downloading" line before the error

    def downloading():
        print("Downloading data from https://example/digits.tar.gz")
        print("1/1 done")
        return (np.zeros((1, 2)), np.array([[3]])), (np.zeros((1, 2)), np.array([[6]]))

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", downloading)
    _, y_train, _, y_test, _ = downloads.read("cifar10")
    assert (y_train.tolist(), y_test.tolist()) == ([3], [6])
    assert capsys.readouterr().out == "Downloading data from https://example/digits.tar.gz\n1/1 done\n"

    def broken():
        raise ValueError("a bug, not the network")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", broken)
    with pytest.raises(ValueError, match="a bug, not the network"):
        data.load("cifar10")


def test_our_own_failure_is_a_traceback_and_exit_1_not_a_usage_error(tmp_path, monkeypatch, capsys):
    from tuning.search import tuners

    def bug(*args, **kwargs):
        raise RuntimeError("a bug in our code")

    monkeypatch.setattr(tuners, "run_trials", bug)
    with pytest.raises(RuntimeError, match="a bug in our code"):  # Python prints it and exits 1
        cli_in_process(["search", *SMOKE], tmp_path, capsys)


def test_every_trial_failing_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    from tuning.search.hypermodel import LeakyCNN

    def diverge(self, hp, model, *args, **kwargs):
        raise kt.errors.FailedTrialError("training loss became nan in epoch 1")

    monkeypatch.setattr(LeakyCNN, "fit", diverge)
    result = cli_in_process(["search", *SMOKE, "--max-trials", "5"], tmp_path, capsys)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(
        r"error: search stopped: Number of consecutive failures exceeded the limit of 3\. "
        r"The last one: .*FailedTrialError: training loss became nan in epoch 1$",
        lines[0],
    ), lines
    assert result.stdout.count("FAILED: ") == 2, "the first two failures, one line each"
    assert not (tmp_path / "saved_models").exists()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The manual: the README, then docs/ page by page (as tools/readme_check.py reads it).
PAGES = ["README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md")
)
# Runs each page's python block in a fresh namespace, as a user pasting it would, and says which failed.
RUN_BLOCKS = """
import json, sys, traceback
for number, (line, code) in enumerate(json.load(open(sys.argv[1])), 1):
    try:
        exec(compile(code, f"python block {number} ({line})", "exec"), {"__name__": "__main__"})
    except BaseException:
        traceback.print_exc()
        sys.exit(f"python block {number} ({line}) failed")
    print(f"block {number} ran", flush=True)
"""


def test_every_python_block_of_the_pages_runs_as_written(default_search, tmp_path):
    # Where `make demo` would have exported: a real search's export (mnist5k, smoke budget).
    cwd, _ = default_search
    shutil.copytree(
        cwd / "saved_models" / "alpha-mnist5k" / "best", tmp_path / "saved_models" / "demo" / "best"
    )
    blocks = []
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        blocks += [
            (f"{page}:{text[: m.start()].count(chr(10)) + 2}", m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)
            if "tuning.api" not in m.group(1)  # tests/test_api.py runs those as a notebook would
        ]
    assert len(blocks) >= 7
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    result = subprocess.run(
        [sys.executable, "-c", RUN_BLOCKS, "blocks.json"],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count(" ran\n") == len(blocks)
    # What the blocks say they write, written.
    for name in (
        "model.keras",
        "exported/saved_model.pb",
        "model.tflite",
        "model.onnx",
        "model_int8.tflite",
        "first.png",
        "second.png",
        "third.png",
        "log.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
