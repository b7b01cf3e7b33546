import keras
import numpy as np
import pytest
from keras.src import testing

import keras_lrelu


def np_leaky_relu(x, alpha):
    return np.where(x > 0, x, alpha * x)


def to_numpy(tensor):
    """A backend tensor as NumPy, from any device (np.asarray fails on a GPU's)."""
    return keras.ops.convert_to_numpy(tensor)


class LeakyReLUHarnessTest(testing.TestCase):
    """Keras's own layer checks: config and serialization round trips,
    weight counts, symbolic shapes, a fit step and mixed precision."""

    def test_fixed(self):
        self.run_layer_test(
            keras_lrelu.LeakyReLU,
            init_kwargs={"alpha": 0.1},
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            supports_masking=True,
        )

    def test_learned_scalar(self):
        self.run_layer_test(
            keras_lrelu.LeakyReLU,
            init_kwargs={"alpha": 0.25, "trainable_alpha": True, "alpha_regularizer": "l2"},
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
            expected_num_losses=1,
            supports_masking=True,
        )

    def test_learned_channelwise(self):
        self.run_layer_test(
            keras_lrelu.LeakyReLU,
            init_kwargs={
                "alpha": 0.25,
                "trainable_alpha": True,
                "channelwise": True,
                "axis": 1,
                "alpha_bounds": None,
            },
            input_shape=(2, 3, 4, 5),
            expected_output_shape=(2, 3, 4, 5),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
            supports_masking=True,
        )


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 1.0, 2.5])
def test_fixed_matches_numpy_and_keras(alpha):
    x = np.random.randn(3, 5, 4).astype("float32")
    x[0, 0] = 0.0
    ours = to_numpy(keras_lrelu.LeakyReLU(alpha=alpha)(x))
    theirs = to_numpy(keras.layers.LeakyReLU(negative_slope=alpha)(x))
    np.testing.assert_allclose(ours, np_leaky_relu(x, alpha), rtol=1e-6)
    np.testing.assert_array_equal(ours, theirs)
    assert keras_lrelu.LeakyReLU(alpha=alpha).weights == []


def test_negative_slope_is_keras_spelling_of_alpha():
    layer = keras_lrelu.LeakyReLU(negative_slope=0.2)
    assert layer.alpha == layer.negative_slope == 0.2
    assert keras_lrelu.LeakyReLU().alpha == 0.3  # Keras's default
    # A config written by keras.layers.LeakyReLU loads into ours.
    config = keras.layers.LeakyReLU(negative_slope=0.2).get_config()
    assert keras_lrelu.LeakyReLU.from_config(config).alpha == 0.2


def test_alpha_and_negative_slope_together_are_refused():
    with pytest.raises(ValueError, match=r"not both\. Received: alpha=0\.1, negative_slope=0\.2"):
        keras_lrelu.LeakyReLU(alpha=0.1, negative_slope=0.2)


def _prelu_pair(input_shape, channelwise, alpha=0.25):
    """Our learned layer and Keras's PReLU with matching shared axes."""
    rank = len(input_shape)
    shared = list(range(1, rank - 1)) if channelwise else list(range(1, rank))
    ours = keras_lrelu.LeakyReLU(
        alpha=alpha, trainable_alpha=True, channelwise=channelwise, alpha_bounds=None
    )
    theirs = keras.layers.PReLU(
        alpha_initializer=keras.initializers.Constant(alpha), shared_axes=shared or None
    )
    ours.build(input_shape)
    theirs.build(input_shape)
    return ours, theirs


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("alpha", [0.0, 0.2, 1.7])
def test_fixed_training_values_and_gradients_equal_keras_leaky_relu_bit_for_bit(dtype, alpha):
    # In training the gradient reads the output (keras_lrelu/_tensorflow.py); zeros included.
    import tensorflow as tf

    values = np.concatenate([np.random.default_rng(0).normal(size=40), [0.0, -0.0, 1e-3, -1e-3]])
    x = tf.constant(values.reshape(4, 11), dtype=dtype)
    upstream = tf.constant(np.random.default_rng(1).normal(size=(4, 11)), dtype=dtype)
    results = []
    for layer, kwargs in (
        (keras_lrelu.LeakyReLU(alpha=alpha, dtype=dtype), {"training": True}),
        (keras.layers.LeakyReLU(negative_slope=alpha, dtype=dtype), {}),
    ):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, **kwargs)
        results.append((y.numpy(), tape.gradient(y, x, output_gradients=upstream).numpy()))
    (y, dx), (keras_y, keras_dx) = results
    assert y.dtype == keras_y.dtype == dx.dtype == tf.as_dtype(dtype).as_numpy_dtype
    np.testing.assert_array_equal(y, keras_y)
    np.testing.assert_array_equal(dx, keras_dx)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("input_shape", [(6, 5), (4, 6, 3), (2, 5, 6, 4)])
@pytest.mark.parametrize("channelwise", [False, True])
def test_learned_values_and_gradients_match_prelu(input_shape, channelwise, training):
    import tensorflow as tf

    ours, theirs = _prelu_pair(input_shape, channelwise)
    # Distinct slopes per channel so a wrong broadcast cannot pass.
    if channelwise:
        channels = input_shape[-1]
        slopes = np.linspace(0.0, 1.5, channels).astype("float32")
        ours.alpha_weight.assign(slopes)
        theirs.alpha.assign(slopes.reshape(theirs.alpha.shape))
    x = tf.constant(np.random.randn(*input_shape).astype("float32"))
    upstream = tf.constant(np.random.randn(*input_shape).astype("float32"))
    results = []
    for layer, alpha in ((ours, ours.alpha_weight), (theirs, theirs.alpha)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(y * upstream)
        dx, dalpha = tape.gradient(loss, [x, alpha.value])
        results.append((y.numpy(), dx.numpy(), np.reshape(dalpha.numpy(), -1)))
    for mine, keras_value in zip(*results):
        np.testing.assert_allclose(mine, keras_value, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("channelwise", [False, True])
def test_a_training_step_equals_prelus(channelwise, jit_compile):
    """model.fit through the training fast path moves the weights and the
    slopes exactly as Keras's PReLU does, in graph mode and under XLA (on
    JAX, both compiled; on PyTorch eager, the mode its users train in:
    jit_compile=True there is torch.compile, which test_randomized's fit
    test covers once, at ~40 s a model)."""
    if jit_compile and keras.backend.backend() == "torch":
        pytest.skip("torch.compile: covered once in test_randomized.py")
    models = []
    for make in (
        lambda: keras_lrelu.LeakyReLU(
            0.25,
            trainable_alpha=True,
            channelwise=channelwise,
            alpha_bounds=None,  # as PReLU
        ),
        lambda: keras.layers.PReLU(
            keras.initializers.Constant(0.25), shared_axes=[1, 2] if channelwise else [1, 2, 3]
        ),
    ):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 6, 2))
        h = make()(keras.layers.Conv2D(4, 3)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
        model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=jit_compile)
        models.append(model)
    models[1].set_weights(  # the same starting weights, whatever the backend's seeding
        [w.reshape(theirs.shape) for w, theirs in zip(models[0].get_weights(), models[1].weights)]
    )
    rng = np.random.RandomState(0)
    x, y = rng.randn(8, 6, 6, 2).astype("float32"), rng.randn(8, 1).astype("float32")
    for model in models:
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    ours, keras_prelu = ([to_numpy(w) for w in m.weights] for m in models)
    assert not np.allclose(ours[2], 0.25)  # the slopes moved
    for mine, theirs in zip(ours, keras_prelu):
        np.testing.assert_allclose(mine.reshape(theirs.shape), theirs, rtol=1e-4, atol=1e-5)


def test_channelwise_on_channels_first_axis():
    layer = keras_lrelu.LeakyReLU(alpha=0.1, trainable_alpha=True, channelwise=True, axis=1)
    x = np.random.randn(2, 3, 4, 4).astype("float32")
    layer.build(x.shape)
    slopes = np.array([0.0, 0.5, 1.0], dtype="float32")
    layer.alpha_weight.assign(slopes)
    expected = np_leaky_relu(x, slopes.reshape(1, 3, 1, 1))
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-6)


def test_learned_layer_accepts_any_image_size():
    inputs = keras.Input((None, None, 3))
    outputs = keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, channelwise=True)(inputs)
    model = keras.Model(inputs, outputs)
    for height, width in ((8, 8), (13, 5)):
        x = np.random.randn(2, height, width, 3).astype("float32")
        np.testing.assert_allclose(to_numpy(model(x)), np_leaky_relu(x, 0.25), rtol=1e-6)


def test_unknown_channel_axis_is_a_clear_build_error():
    layer = keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True)
    with pytest.raises(ValueError, match=r"size of the channel axis to be known\. Received: axis=-1"):
        layer(keras.Input((4, None)))


def test_batch_axis_cannot_be_the_channel_axis():
    layer = keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True, axis=0)
    with pytest.raises(ValueError, match=r"non-batch axis of the input\. Received: axis=0"):
        layer.build((2, 3))


def _train_slope(alpha_bounds, direction, steps=5):
    """Trains a lone learned slope with a loss whose gradient drives it
    `direction` (+1 up, -1 down); returns the slope after every step."""
    layer = keras_lrelu.LeakyReLU(alpha=0.5, trainable_alpha=True, alpha_bounds=alpha_bounds)
    inputs = keras.Input((8,))
    model = keras.Model(inputs, layer(inputs))
    # x < 0, so y = alpha * x and minimising direction * y moves alpha by direction.
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=lambda _, y: direction * keras.ops.mean(y))
    seen = []
    # One batch per epoch; epoch ends are where every backend (JAX too)
    # writes the trained values back into the variables.
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(keras.ops.convert_to_numpy(layer.alpha_weight)))
    )
    x = -np.ones((4, 8), "float32")
    model.fit(x, x, batch_size=4, epochs=steps, verbose=0, callbacks=[record])
    return seen


def test_bounds_clip_a_slope_pushed_out_after_every_step():
    assert _train_slope((0.0, 1.0), +1) == [1.0] * 5
    assert _train_slope((0.0, 1.0), -1) == [0.0] * 5
    assert _train_slope((0.2, 0.7), +1)[-1] == pytest.approx(0.7)


def test_no_bounds_leave_the_slope_free():
    assert _train_slope(None, +1)[-1] == pytest.approx(5.5)
    assert _train_slope(None, -1)[-1] == pytest.approx(-4.5)


def test_mixed_precision_output_is_float16_and_alpha_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = keras_lrelu.LeakyReLU(alpha=0.25, trainable_alpha=True, channelwise=True)
    x = np.random.randn(2, 4, 3).astype("float32")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert layer.alpha_weight.dtype == "float32"
    np.testing.assert_allclose(to_numpy(y).astype("float32"), np_leaky_relu(x, 0.25), rtol=1e-3, atol=1e-3)
    fixed = keras_lrelu.LeakyReLU(alpha=0.25)(x)
    assert keras.backend.standardize_dtype(fixed.dtype) == "float16"


def test_get_alphas_reports_learned_layers_only():
    inputs = keras.Input((4, 4, 3))
    h = keras_lrelu.LeakyReLU(alpha=0.1, name="fixed")(inputs)
    h = keras_lrelu.LeakyReLU(alpha=0.2, trainable_alpha=True, name="scalar")(h)
    inner = keras.Sequential(
        [keras_lrelu.LeakyReLU(alpha=0.3, trainable_alpha=True, channelwise=True, name="per_channel")]
    )
    model = keras.Model(inputs, inner(h))
    alphas = keras_lrelu.get_alphas(model)
    assert set(alphas) == {"scalar", "per_channel"}
    assert alphas["scalar"] == pytest.approx(0.2) and isinstance(alphas["scalar"], float)
    np.testing.assert_allclose(alphas["per_channel"], [0.3] * 3)


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), float("-inf"), -0.01, "0.1", True, [0.1]])
@pytest.mark.parametrize("name", ["alpha", "negative_slope"])
def test_bad_slope_is_refused(name, bad):
    with pytest.raises(ValueError, match=rf"`{name}` must be a finite number >= 0\. Received: {name}="):
        keras_lrelu.LeakyReLU(**{name: bad})


@pytest.mark.parametrize(
    "bad",
    [
        (0.5,),
        (0.0, 1.0, 2.0),
        (1.0, 0.0),
        (0.0, float("inf")),
        (float("nan"), 1.0),
        ("0", "1"),
        (False, True),
        1.0,
        "0,1",
    ],
)
def test_bad_bounds_are_refused(bad):
    with pytest.raises(ValueError, match=r"`alpha_bounds` must be None or a pair .* Received: alpha_bounds="):
        keras_lrelu.LeakyReLU(alpha=0.1, trainable_alpha=True, alpha_bounds=bad)


def test_initial_alpha_outside_bounds_is_refused():
    with pytest.raises(
        ValueError, match=r"inside `alpha_bounds`\. Received: alpha=1\.5, alpha_bounds=\(0\.0, 1\.0\)"
    ):
        keras_lrelu.LeakyReLU(alpha=1.5, trainable_alpha=True)
    # A fixed slope is not learned, so the bounds do not apply to it.
    assert keras_lrelu.LeakyReLU(alpha=1.5).alpha == 1.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"trainable_alpha": 1}, r"`trainable_alpha` must be a bool\. Received: trainable_alpha=1"),
        (
            {"trainable_alpha": True, "channelwise": "yes"},
            r"`channelwise` must be a bool\. Received: channelwise='yes'",
        ),
        ({"channelwise": True}, r"needs `trainable_alpha=True`\. Received: channelwise=True"),
        ({"axis": 1.0}, r"`axis` must be an int or None\. Received: axis=1\.0"),
    ],
)
def test_bad_flags_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_lrelu.LeakyReLU(**kwargs)


@pytest.mark.parametrize("jit_compile", ["auto", False], ids=["xla", "graph"])
def test_mixed_precision_training_through_the_fast_paths(jit_compile):
    keras.mixed_precision.set_global_policy("mixed_float16")
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3)(inputs)
    h = keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True, name="chan")(h)
    h = keras_lrelu.RandomizedLeakyReLU(seed=0)(h)
    h = keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, name="scalar")(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", dtype="float32")(h))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", jit_compile=jit_compile)
    rng = np.random.RandomState(0)
    history = model.fit(rng.rand(64, 8, 8, 3), rng.randint(0, 2, 64), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.get_layer("chan").alpha_weight.dtype == "float32"
    alphas = keras_lrelu.get_alphas(model)
    assert not np.allclose(alphas["chan"], 0.25) and alphas["scalar"] != pytest.approx(0.25)


@pytest.fixture
def channels_first():
    saved = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    yield
    keras.config.set_image_data_format(saved)


def test_the_default_axis_is_the_channel_axis_of_the_image_data_format(channels_first):
    layer = keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True)
    assert layer.axis == 1 and layer.get_config()["axis"] == 1
    layer.build((2, 3, 5, 7))
    assert tuple(layer.alpha_weight.shape) == (3,)  # one per channel, not per column
    explicit = keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True, axis=-1)
    assert explicit.axis == -1
    # A file saved with axis=-1 (every release before) loads as it was, whatever the format.
    assert keras_lrelu.LeakyReLU.from_config(explicit.get_config()).axis == -1


def test_the_default_axis_is_the_last_for_channels_last():
    assert keras.config.image_data_format() == "channels_last"
    assert keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True).axis == -1
