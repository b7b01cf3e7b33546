"""The search on a user's own network: `--model FILE.keras` and the
checked BaseNetwork behind it (tuning/search/user_model.py)."""

import hashlib
import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line
from conftest import cli
from conftest import cli_in_process
from conftest import ok

import keras_lrelu
from tuning import data
from tuning.errors import UsageError
from tuning.search import user_model

pytestmark = pytest.mark.tensorflow_only  # the search itself runs on every backend; these pin TF's files


def residual_network(input_shape=(8, 8, 1), classes=10, compiled=True, head="softmax"):
    """A small residual network that is not the suite's: a skip connection,
    BatchNormalization, ReLU as a layer, as Activation("relu") and inside a Conv2D."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 16)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.ReLU()(x)
    y = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = keras.layers.BatchNormalization(momentum=0.9)(y)
    x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
    outputs = keras.layers.Dense(classes, activation=head)(x)
    model = keras.Model(inputs, outputs, name="tiny_resnet")
    if compiled:
        model.compile(
            optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def _conv_kernels(model):
    return [layer.get_weights()[0] for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_each_configuration_is_the_model_with_its_relus_replaced_from_the_same_fresh_weights(digits):
    source = residual_network()
    base = user_model.prepare(source, "fresh", digits)
    assert base.description["relus_replaced"] == 3 and base.description["name"] == "tiny_resnet"
    built = {}
    for mode in ("relu", "fixed", "channelwise", "randomized"):
        keras.utils.set_random_seed(7)
        built[mode] = base.build(mode, 0.1, seed=7)
    assert not any(isinstance(layer, keras_lrelu.LeakyReLU) for layer in built["relu"].layers)
    assert [type(layer).__name__ for layer in built["relu"].layers] == [
        type(layer).__name__ for layer in source.layers
    ]
    for mode, kind in (("fixed", keras_lrelu.LeakyReLU), ("randomized", keras_lrelu.RandomizedLeakyReLU)):
        assert sum(isinstance(layer, kind) for layer in built[mode].layers) == 3
    assert keras_lrelu.get_alphas(built["channelwise"]) == {
        name: pytest.approx(np.full(8, 0.1)) for name in ("re_lu", "conv2d_1_lrelu", "activation")
    }
    # Repeat j's weights: the same in every configuration, new (not the file's), and the seed's own.
    reference = _conv_kernels(built["relu"])
    for mode in ("fixed", "randomized"):
        assert all(np.array_equal(a, b) for a, b in zip(_conv_kernels(built[mode]), reference))
    assert not any(np.array_equal(a, b) for a, b in zip(reference, _conv_kernels(source)))
    keras.utils.set_random_seed(8)
    other_seed = base.build("relu", 0.0, seed=8)
    assert not any(np.array_equal(a, b) for a, b in zip(reference, _conv_kernels(other_seed)))
    # Compiled as the model was: its SGD, with a fresh optimizer state per build.
    assert isinstance(built["fixed"].optimizer, keras.optimizers.SGD)
    assert built["fixed"].optimizer.momentum == pytest.approx(0.9)
    assert built["fixed"].optimizer is not built["relu"].optimizer


def test_pretrained_starts_from_the_models_weights_and_an_uncompiled_model_gets_the_suites_settings(digits):
    source = residual_network(compiled=False)
    source.layers[2].set_weights([w + 1.0 for w in source.layers[2].get_weights()])  # not any init
    base = user_model.prepare(source, "pretrained", digits)
    keras.utils.set_random_seed(3)
    model = base.build("fixed", 0.05, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(_conv_kernels(model), _conv_kernels(source)))
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)][0]
    assert np.array_equal(bn.get_weights()[2], source.get_layer(bn.name).get_weights()[2])  # moving mean too
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)
    assert model.get_compile_config()["metrics"] == ["accuracy"]


def test_a_compile_without_accuracy_gets_it_and_the_rest_is_kept(digits):
    source = residual_network(compiled=False)
    source.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_top_k_categorical_accuracy"],
    )
    base = user_model.prepare(source, "fresh", digits)
    assert base.compile_config["metrics"] == ["sparse_top_k_categorical_accuracy", "accuracy"]
    # Saved on a CPU, "auto" reads False: the search's runs take XLA where Keras would.
    assert (
        source.get_compile_config()["jit_compile"] is False and base.compile_config["jit_compile"] == "auto"
    )
    model = base.build("relu", 0.0, seed=0)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)


@keras.saving.register_keras_serializable(package="tests")
class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.dense(keras.ops.relu(self.flatten(x)))


def test_a_subclassed_model_and_a_build_function_that_calls_no_activation_are_refused(digits):
    model = Subclassed()
    model(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(
        UsageError, match=r"^model='subclassed' is a subclassed model \(Subclassed\), whose call"
    ):
        user_model.prepare(model, "fresh", digits)
    with pytest.raises(
        UsageError, match=r"^model=.*<lambda> never called activation\(\): no rectifier to search$"
    ):
        user_model.prepare(lambda activation: residual_network(), "fresh", digits)
    with pytest.raises(
        UsageError, match=r"^init='pretrained' needs a model with weights; model=.* is a build"
    ):
        user_model.prepare(lambda activation: residual_network(), "pretrained", digits)


def _saved(folder, model, name="model.keras"):
    path = os.path.join(folder, name)
    model.save(path)
    return path


def _tanh_network():
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(
        keras.layers.Flatten()(keras.layers.Activation("tanh")(inputs))
    )
    return keras.Model(inputs, outputs)


def _lambda_network():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 2)(inputs)
    return keras.Model(
        inputs, keras.layers.Dense(10, activation="softmax", name="d")(keras.layers.Flatten()(x))
    )


def _one_hot_network():
    model = residual_network(compiled=False)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


BAD_MODELS = [
    ("missing.keras", None, r"error: --model missing\.keras: no such file$"),
    ("model.h5", lambda: residual_network(), r"error: --model model\.h5: not a \.keras file \(save one with"),
    ("model.keras", _tanh_network, r"error: --model model\.keras has no ReLU to replace \(no ReLU layer"),
    (
        "model.keras",
        lambda: residual_network(input_shape=(28, 28, 1)),
        r"error: --model model\.keras takes inputs of shape \(None, 28, 28, 1\); the dataset digits has images "
        r"of shape \(None, 8, 8, 1\)$",
    ),
    (
        "model.keras",
        lambda: residual_network(classes=3),
        r"error: --model model\.keras outputs shape \(None, 3\); the dataset digits has 10 classes, so \(None, 10\)$",
    ),
    (
        "model.keras",
        lambda: residual_network(head=None),
        r"error: --model model\.keras does not end in a softmax: the search exports and serves class probabilities",
    ),
    ("model.keras", _lambda_network, r"error: cannot load --model model\.keras in Keras's safe mode: "),
    (
        "model.keras",
        _one_hot_network,
        r"error: --model model\.keras is compiled with categorical_crossentropy, for one-hot labels",
    ),
]


@pytest.mark.parametrize("name, make, message", BAD_MODELS, ids=[m for *_, m in BAD_MODELS])
def test_a_model_that_cannot_be_searched_is_one_error_line_before_anything_is_written(
    tmp_path, name, make, message, capsys
):
    if make is not None:
        model = make()
        if name.endswith(".keras"):
            _saved(tmp_path, model, name)
        else:
            (tmp_path / name).write_bytes(b"\x89HDF\r\n")
    result = cli_in_process(
        ["search", "--dataset", "digits", "--model", name, "--epochs", "1"], tmp_path, capsys
    )
    assert_one_error_line(result, message)
    assert not (tmp_path / "saved_models").exists() and not (tmp_path / "runs").exists()


def test_init_without_a_model_is_one_error_line(tmp_path, capsys):
    result = cli_in_process(["search", "--init", "pretrained"], tmp_path, capsys)
    assert_one_error_line(
        result, r"error: --init pretrained is for --model FILE\.keras; the suite's CNN always"
    )


def test_a_declared_size_past_the_cap_is_refused_before_keras_reads_the_file(tmp_path, monkeypatch, digits):
    path = _saved(tmp_path, residual_network())
    monkeypatch.setattr(user_model, "CONFIG_BYTES_MAX", 100)
    with pytest.raises(
        UsageError, match=r"declares [\d,]+ bytes unpacked \(config\.json [\d,]+\); the limits"
    ):
        user_model.prepare(path, "fresh", digits)


@pytest.mark.slow
def test_model_searches_a_residual_network_decides_exports_every_format_and_resumes(tmp_path, capsys):
    model_path = _saved(tmp_path, residual_network(), "resnet.keras")
    args = [
        "search", "--dataset", "digits", "--model", "resnet.keras", "--tuner", "grid",
        "--modes", "relu,fixed", "--alpha-min", "0.01", "--alpha-max", "0.3", "--max-trials", "3",
        "--epochs", "3", "--repeats", "3", "--trials-per-process", "0",
    ]  # fmt: skip
    stdout = ok(cli(args, tmp_path))
    assert "Decision: " in stdout and "exported: saved_models/alpha-digits/best" in stdout
    project = tmp_path / "runs" / "alpha-digits"
    frame = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert len(frame) == 3 and (frame["repeats"] == 3).all() and set(frame["mode"]) == {"relu", "fixed"}
    verdict = json.loads((project / "verdict.json").read_text())
    recomputed = ok(
        cli_in_process(["verdict", str(project / "results.csv"), "--json", "v.json"], tmp_path, capsys)
    )
    assert (
        verdict["text"] in recomputed
        and json.loads((tmp_path / "v.json").read_text())["decision"] == verdict["decision"]
    )
    folder = tmp_path / "saved_models" / "alpha-digits" / "best"
    card = json.loads((folder / "model_card.json").read_text())
    digest = hashlib.sha256(open(model_path, "rb").read()).hexdigest()
    assert card["base_model"] == {
        "file": model_path, "sha256": digest, "init": "fresh", "name": "tiny_resnet", "relus_replaced": 3,
    }  # fmt: skip
    assert card["verdict"]["decision"] == verdict["decision"]
    # Every format was measured in its own runtime on the test images: all agree with Keras's.
    keras_accuracy = card["formats"]["model.keras"]["test_accuracy"]
    assert keras_accuracy == card["test_accuracy"]["value"] > 0.5
    for name in ("saved_model", "model.tflite", "model.onnx"):
        assert card["formats"][name]["test_accuracy"] == pytest.approx(keras_accuracy, abs=0.01), name
    exported = keras.saving.load_model(folder / "model.keras")
    kinds = {type(layer).__name__ for layer in exported.layers}
    assert ("LeakyReLU" in kinds) == (card["hyperparameters"]["mode"] == "fixed")
    assert "BatchNormalization" in kinds and "Add" in kinds
    # Rerun (here, in this process): resumed, nothing trained again; another model file is
    # refused by name.
    again = ok(cli_in_process([*args, "--export-formats", "saved_model"], tmp_path, capsys))
    assert "trial " not in again.split("Best:")[0].replace("trial_id", "")
    _saved(tmp_path, residual_network(classes=10, compiled=False), "other.keras")
    other = cli_in_process([a if a != "resnet.keras" else "other.keras" for a in args], tmp_path, capsys)
    assert_one_error_line(
        other,
        rf"error: cannot resume runs/alpha-digits with --model {tmp_path}/other\.keras \(init fresh\): it was "
        rf"searched with --model {tmp_path}/resnet\.keras \(init fresh\)",
    )
