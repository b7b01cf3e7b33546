"""Round trips through real files and fresh processes."""

import json

import keras
import numpy as np
import pytest
from conftest import run_python

import keras_lrelu


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small CNN with every keras_lrelu layer kind, trained a few steps."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    h = keras.layers.Conv2D(4, 3)(inputs)
    h = keras_lrelu.LeakyReLU(alpha=0.1, name="fixed")(h)
    h = keras.layers.Conv2D(5, 3)(h)
    h = keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, channelwise=True, name="per_channel")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(6)(h)
    h = keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, name="scalar")(h)
    h = keras_lrelu.RandomizedLeakyReLU(seed=3, name="randomized")(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    x = np.random.RandomState(0).randn(32, 9, 9, 3).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    alphas = keras_lrelu.get_alphas(model)
    assert alphas["scalar"] != pytest.approx(0.25), "training should move the slope"
    folder = tmp_path_factory.mktemp("trained")
    np.save(folder / "x.npy", x[:5])
    return model, folder, x[:5]


@pytest.fixture(scope="module")
def in_a_new_process(trained):
    """The trained model saved as model.keras and exported as a SavedModel,
    then used by one new interpreter (one TensorFlow start for both): first
    the SavedModel, served while keras_lrelu cannot be imported, then
    model.keras, loaded once the plugin is let back in."""
    model, folder, _ = trained
    model.save(folder / "model.keras")
    model.export(str(folder / "exported"), verbose=False)
    run_python(
        """
        import json
        import numpy as np, tensorflow as tf, keras
        x = np.load("x.npy")
        loaded = tf.saved_model.load("exported")
        np.save("served.npy", loaded.serve(x).numpy())
        layer = keras.layers.TFSMLayer("exported", call_endpoint="serve")
        np.save("tfsm.npy", np.asarray(layer(x)))
        # Any image size: the learned slopes only fix the channel axis.
        assert loaded.serve(np.zeros((1, 17, 6, 3), "float32")).shape == (1, 2)
        assert not [name for name, module in sys.modules.items() if name.startswith("keras_lrelu") and module]

        del sys.modules["keras_lrelu"]  # the plugin, let back in
        import keras_lrelu
        model = keras.models.load_model("model.keras")
        np.save("loaded_out.npy", model.predict(x, verbose=0))
        alphas = {k: np.asarray(v).tolist() for k, v in keras_lrelu.get_alphas(model).items()}
        json.dump(alphas, open("loaded_alphas.json", "w"))
        """,
        cwd=folder,
        block_plugin=True,
    )
    return folder


def test_keras_file_loads_in_a_new_process(trained, in_a_new_process):
    model, folder, x = trained
    np.testing.assert_array_equal(np.load(folder / "loaded_out.npy"), model.predict(x, verbose=0))
    loaded = json.loads((folder / "loaded_alphas.json").read_text())
    for name, value in keras_lrelu.get_alphas(model).items():
        # float32 -> Python float -> float32 is exact: bit-identical slopes.
        np.testing.assert_array_equal(np.float32(loaded[name]), np.float32(value))


def test_keras_file_loads_in_process_with_layers_intact(trained, tmp_path):
    model, _, x = trained
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.get_layer("per_channel"), keras_lrelu.LeakyReLU)
    assert loaded.get_layer("randomized").get_config()["seed"] == 3
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_savedmodel_serves_without_the_plugin(trained, in_a_new_process):
    model, folder, x = trained
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.load(folder / "served.npy"), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(folder / "tfsm.npy"), expected, rtol=1e-5, atol=1e-6)
