"""The layers on any Keras backend: `make test` runs this file under
TensorFlow, JAX (KERAS_BACKEND=jax) and PyTorch (KERAS_BACKEND=torch); the
last test trains under PyTorch and under JAX in subprocesses and loads the
files under TensorFlow (and PyTorch's under JAX)."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from conftest import SUBPROCESS_ENV

import keras_lrelu

LAYERS = {
    "fixed": lambda: keras_lrelu.LeakyReLU(0.2),
    "learned": lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True),
    "per channel": lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True),
    "channels first": lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True, axis=1),
    "randomized": lambda: keras_lrelu.RandomizedLeakyReLU(0.1, 0.3, seed=3),
}


def _model(make):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(4, 3)(inputs)
    h = make()(h)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    return model


def _data():
    rng = np.random.RandomState(0)
    return rng.randn(32, 6, 6, 2).astype("float32"), rng.randn(32, 1).astype("float32")


@pytest.mark.parametrize("kind", LAYERS)
def test_trains_saves_and_loads(kind, tmp_path):
    model = _model(LAYERS[kind])
    x, y = _data()
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    if kind in ("learned", "per channel", "channels first"):
        (alpha,) = keras_lrelu.get_alphas(model).values()
        assert not np.allclose(alpha, 0.25), "the slope did not move"
        assert np.shape(alpha) == {"learned": (), "per channel": (4,), "channels first": (4,)}[kind]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_randomized_slopes_are_seeded_and_within_bounds():
    x = -np.ones((64, 50), "float32")  # output = -slope, element by element

    def draw(seed):
        layer = keras_lrelu.RandomizedLeakyReLU(0.1, 0.3, seed=seed)
        return [-keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(2)]

    first, second = draw(7)
    assert 0.1 <= first.min() and first.max() <= 0.3
    assert np.unique(first).size > 1000, "one slope per element"
    assert not np.array_equal(first, second), "each call draws anew"
    again = draw(7)
    np.testing.assert_array_equal(again[0], first)  # same seed, same slopes
    np.testing.assert_array_equal(again[1], second)
    assert not np.array_equal(draw(8)[0], first)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras_lrelu.RandomizedLeakyReLU(0.1, 0.3)(x)), -0.2, rtol=1e-6
    )


TRAINING = """
import sys
import numpy as np, keras, keras_lrelu
backend = keras.backend.backend()
keras.utils.set_random_seed(0)
inputs = keras.Input((6, 6, 2))
h = keras.layers.Conv2D(4, 3)(inputs)
h = keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True)(h)
h = keras_lrelu.RandomizedLeakyReLU(seed=1)(keras.layers.Conv2D(4, 3)(h))
h = keras_lrelu.LeakyReLU(0.1)(h)
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
model.compile(keras.optimizers.Adam(0.05), "mse")
rng = np.random.RandomState(0)
x, y = rng.randn(32, 6, 6, 2).astype("float32"), rng.randn(32, 1).astype("float32")
model.fit(x, y, batch_size=8, epochs=2, verbose=0)
model.save(backend + ".keras")
np.save("x.npy", x)
np.save(backend + "_outputs.npy", model.predict(x, verbose=0))
"""
LOADING = """
import numpy as np, keras, keras_lrelu
model = keras.models.load_model("{trained}.keras")
np.save("{trained}_under_" + keras.backend.backend() + ".npy", model.predict(np.load("x.npy"), verbose=0))
"""


def _run_under(backend, code, cwd):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=dict(SUBPROCESS_ENV, KERAS_BACKEND=backend),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def trained_elsewhere(tmp_path_factory):
    """The model trained and saved under PyTorch, then under JAX, each in a
    process of its own; the JAX one also loads PyTorch's file (one JAX
    start for both)."""
    folder = tmp_path_factory.mktemp("trained")
    _run_under("torch", TRAINING, folder)
    _run_under("jax", TRAINING + LOADING.format(trained="torch"), folder)
    return folder


@pytest.mark.tensorflow_only
@pytest.mark.slow
@pytest.mark.parametrize("trained_under", ["jax", "torch"])
def test_a_model_trained_under_another_backend_loads_and_exports_under_tensorflow(
    trained_under, trained_elsewhere
):
    """Learned slopes moved and an RReLU inside: the .keras file predicts
    the same under TensorFlow (and, trained under PyTorch, under JAX), and
    TensorFlow exports it as a SavedModel that serves the same."""
    import tensorflow as tf

    folder = trained_elsewhere
    expected = np.load(folder / f"{trained_under}_outputs.npy")
    if trained_under == "torch":
        np.testing.assert_allclose(np.load(folder / "torch_under_jax.npy"), expected, rtol=1e-5, atol=1e-5)
    model = keras.models.load_model(folder / f"{trained_under}.keras")
    x = np.load(folder / "x.npy")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(next(iter(keras_lrelu.get_alphas(model).values())), 0.25)
    exported = folder / f"exported_{trained_under}"
    model.export(str(exported), format="tf_saved_model", verbose=False)
    served = tf.saved_model.load(str(exported))
    np.testing.assert_allclose(served.serve(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    assert os.path.isfile(exported / "saved_model.pb")


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="TensorFlow's CPU convolutions take channels last only"
)
def test_a_channels_first_cnn_trains_one_slope_per_channel():
    saved = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((2, 6, 6))
        h = keras.layers.Conv2D(4, 3)(inputs)
        h = keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True, name="slope")(h)
        model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
        model.compile(keras.optimizers.Adam(0.05), "mse")
        x, y = _data()
        x = np.transpose(x, (0, 3, 1, 2))
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    finally:
        keras.config.set_image_data_format(saved)
    assert history.history["loss"][-1] < history.history["loss"][0]
    alpha = keras_lrelu.get_alphas(model)["slope"]
    assert np.shape(alpha) == (4,) and not np.allclose(alpha, 0.25)
