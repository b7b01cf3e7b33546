import warnings

import keras
import numpy as np
import pytest
from conftest import round_to
from keras.src import testing

import keras_lrelu

# PyTorch's training paths (keras_lrelu/_torch.py, _torch_hash.py); TensorFlow's is tested too.
pytorch_only = pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch's training path")


class RandomizedLeakyReLUHarnessTest(testing.TestCase):
    def test_layer(self):
        self.run_layer_test(
            keras_lrelu.RandomizedLeakyReLU,
            init_kwargs={"lower": 0.1, "upper": 0.3, "seed": 1},
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            supports_masking=True,
        )


def _slopes_drawn(layer, x):
    """The slope each negative element of `x` got in a training call."""
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    negative = x < 0
    np.testing.assert_array_equal(y[~negative], x[~negative])
    return y[negative] / x[negative]


def test_defaults_are_pytorchs():
    layer = keras_lrelu.RandomizedLeakyReLU()
    assert (layer.lower, layer.upper) == (1 / 8, 1 / 3)


def test_inference_uses_the_mean_slope():
    x = np.random.randn(4, 6).astype("float32")
    layer = keras_lrelu.RandomizedLeakyReLU(lower=0.1, upper=0.3, seed=0)
    expected = np.where(x > 0, x, 0.2 * x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-6)


def test_training_draws_a_uniform_slope_per_element():
    x = -np.abs(np.random.randn(64, 256)).astype("float32") - 0.1
    slopes = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(lower=0.1, upper=0.3, seed=0), x)
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    # Per element, not per batch or per channel.
    assert len(np.unique(slopes.round(6))) > 0.9 * slopes.size
    assert slopes.mean() == pytest.approx(0.2, abs=0.002)
    assert slopes.std() == pytest.approx(0.2 / np.sqrt(12), rel=0.02)


def test_same_seed_draws_the_same_slopes():
    x = np.random.randn(8, 16).astype("float32")
    first = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(seed=7), x)
    again = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(seed=7), x)
    other = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(seed=8), x)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_no_element_has_a_slope_fixed_by_its_position():
    """The first call of 32 layers seeded 0 to 31: each element's slopes
    over the seeds are spread out (a keyed hash can pin an index's slope)."""
    x = -np.ones((1, 4), "float32")
    slopes = np.stack([_slopes_drawn(keras_lrelu.RandomizedLeakyReLU(seed=seed), x) for seed in range(32)])
    for position in slopes.T:
        assert len(np.unique(position)) == 32 and position.std() > 0.03


def test_equal_bounds_make_a_fixed_slope():
    x = np.random.randn(5, 5).astype("float32")
    layer = keras_lrelu.RandomizedLeakyReLU(lower=0.2, upper=0.2, seed=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x, training=True)), np.where(x > 0, x, 0.2 * x), rtol=1e-6
    )


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_fit_trains_a_model_through_it(jit_compile):
    inputs = keras.Input((6,))
    h = keras_lrelu.RandomizedLeakyReLU(seed=0)(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("adam", "mse", jit_compile=jit_compile)
    history = model.fit(np.random.randn(32, 6), np.random.randn(32, 1), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_mixed_precision_output_is_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = keras_lrelu.RandomizedLeakyReLU(seed=0)
    x = np.random.randn(3, 4).astype("float32")
    for training in (False, True):
        assert keras.backend.standardize_dtype(layer(x, training=training).dtype) == "float16"


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -0.1, "0.1", True, [0.1]])
@pytest.mark.parametrize("name", ["lower", "upper"])
def test_bad_bounds_are_refused(name, bad):
    with pytest.raises(ValueError, match=rf"`{name}` must be a finite number >= 0\. Received: {name}="):
        keras_lrelu.RandomizedLeakyReLU(**{name: bad})


def test_lower_above_upper_is_refused():
    with pytest.raises(
        ValueError, match=r"`lower` must not exceed `upper`\. Received: lower=0\.5, upper=0\.2"
    ):
        keras_lrelu.RandomizedLeakyReLU(lower=0.5, upper=0.2)


@pytest.mark.parametrize("bad", [1.5, "0", True])
def test_bad_seed_is_refused(bad):
    with pytest.raises(ValueError, match=r"`seed` must be an int or None\. Received: seed="):
        keras_lrelu.RandomizedLeakyReLU(seed=bad)


def test_slopes_are_uniform_and_independent():
    from scipy import stats

    x = -np.ones((256, 512), "float32")
    slopes = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(lower=0.0, upper=1.0, seed=3), x)
    assert stats.kstest(slopes, "uniform").pvalue > 1e-3
    neighbours = np.corrcoef(slopes[:-1], slopes[1:])[0, 1]
    assert abs(neighbours) < 0.01
    # Two calls draw afresh.
    again = _slopes_drawn(keras_lrelu.RandomizedLeakyReLU(lower=0.0, upper=1.0, seed=3), x)
    layer = keras_lrelu.RandomizedLeakyReLU(lower=0.0, upper=1.0, seed=3)
    first, second = _slopes_drawn(layer, x), _slopes_drawn(layer, x)
    np.testing.assert_array_equal(first, again)
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.01


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_training_gradient_uses_the_slopes_of_the_forward_pass(jit_compile):
    import tensorflow as tf

    layer = keras_lrelu.RandomizedLeakyReLU(seed=5)
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(16, 32).astype("float32"))
    upstream = tf.constant(rng.randn(16, 32).astype("float32"))

    @tf.function(jit_compile=jit_compile)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        return y, tape.gradient(y, x, output_gradients=upstream)

    y, dx = (t.numpy() for t in step(x))
    x, upstream = x.numpy(), upstream.numpy()
    slopes = np.where(x > 0, 1.0, y / np.where(x == 0, 1, x))
    assert ((slopes[x < 0] >= 1 / 8 - 1e-6) & (slopes[x < 0] <= 1 / 3 + 1e-6)).all()
    np.testing.assert_allclose(dx, slopes * upstream, rtol=1e-5, atol=1e-6)


@pytest.fixture(params=["fused", "unfused"])
def pytorch_path(request, monkeypatch):
    """PyTorch's two training paths on the CPU: the loop torch.compile
    fuses (keras_lrelu/_torch_hash.py), and the slopes drawn into memory
    (keras_lrelu/_torch.py) where torch.compile cannot run."""
    from keras_lrelu import _torch_hash

    if request.param == "unfused":
        monkeypatch.setattr(_torch_hash, "_kernels", False)
    else:
        assert _torch_hash.fused_here()
    return request.param


@pytorch_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("upper", [1 / 3, 1.5], ids=["upper<=1", "upper>1"])
def test_pytorch_gradient_uses_the_slopes_of_the_forward_pass(upper, dtype, pytorch_path):
    """PyTorch's autograd Functions: y and dx are exactly the plain
    formula's with the slopes of the forward pass (read from a twin layer
    with the same seed, on -1s), zeros included, in every dtype; with
    upper > 1 the factor of a positive x is still 1."""
    import torch

    torch_dtype = getattr(torch, dtype)
    rng = np.random.RandomState(0)
    x = torch.tensor(rng.randn(16, 33).astype("float32")).to(torch_dtype)
    x[0, :5] = 0.0
    x.requires_grad_(True)
    upstream = torch.tensor(rng.randn(16, 33).astype("float32")).to(torch_dtype)
    y = keras_lrelu.RandomizedLeakyReLU(lower=0.1, upper=upper, seed=5, dtype=dtype)(x, training=True)
    y.backward(upstream)
    twin = keras_lrelu.RandomizedLeakyReLU(lower=0.1, upper=upper, seed=5, dtype=dtype)
    slopes = -twin(-torch.ones_like(x), training=True)
    assert y.dtype == x.grad.dtype == torch_dtype
    x, y, dx, upstream, slopes = (
        keras.ops.convert_to_numpy(t.detach().float()) for t in (x, y, x.grad, upstream, slopes)
    )
    resolution = {"float32": 1e-6, "float16": 2e-3, "bfloat16": 1e-2}[dtype]
    assert slopes.min() >= 0.1 - resolution and slopes.max() <= upper + resolution
    assert np.unique(slopes).size > slopes.size // 4
    factor = np.where(x > 0, 1.0, slopes)
    np.testing.assert_array_equal(y, round_to(factor * x, dtype))
    np.testing.assert_array_equal(dx, round_to(factor * upstream, dtype))


@pytorch_only
def test_pytorch_fused_path_traces_whole_and_draws_as_in_eager_mode():
    """Under TorchDynamo (Keras's jit_compile=True on PyTorch) the fused
    path adds no graph break (Keras's SeedGenerator has one of its own) and
    hashes the slopes it hashes in eager mode, where the compiled loop gives
    exactly what the same torch ops give uncompiled."""
    import torch

    from keras_lrelu import _torch
    from keras_lrelu import _torch_hash

    assert _torch_hash.fused_here()
    x = -torch.ones(4, 33)
    traced = torch.compile(
        lambda t, seed: _torch.randomized_leaky_relu(t, seed, 1 / 8, 1 / 3), backend="eager", fullgraph=True
    )
    for seed in ([5, 0], [5, 1]):
        seed = torch.tensor(seed, dtype=torch.int32)
        fused = _torch.randomized_leaky_relu(x, seed, 1 / 8, 1 / 3)
        uncompiled = _torch_hash._forward(x.reshape(-1), _torch_hash._keys(seed), 1 / 8, 1 / 3)
        assert torch.equal(traced(x, seed), fused) and torch.equal(uncompiled.view(x.shape), fused)
        assert fused.unique().numel() > 100


@pytorch_only
def test_pytorch_without_a_compiler_warns_once_and_draws_into_memory(monkeypatch):
    import torch

    from keras_lrelu import _torch_hash

    def no_compiler(loop, **options):
        def fails(*args):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found\nmore detail")

        return fails

    monkeypatch.setattr(torch, "compile", no_compiler)
    monkeypatch.setattr(_torch_hash, "_kernels", None)
    layer = keras_lrelu.RandomizedLeakyReLU(seed=0)
    x = -np.ones((8, 16), "float32")
    expected = (
        r"torch\.compile cannot build its fused CPU loop here \(RuntimeError: InvalidCxxCompiler: "
        r"No working C\+\+ compiler found\); training draws the slopes into memory instead"
    )
    with pytest.warns(RuntimeWarning, match=expected):
        slopes = _slopes_drawn(layer, x)
    assert _torch_hash._kernels is False
    assert slopes.min() >= 1 / 8 - 1e-6 and slopes.max() <= 1 / 3 + 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert not np.array_equal(_slopes_drawn(layer, x), slopes)


@pytorch_only
def test_pytorch_with_torchdynamo_switched_off_draws_into_memory(monkeypatch):
    from keras_lrelu import _compat
    from keras_lrelu import _torch_hash

    monkeypatch.setattr(_compat, "torch_compile_switched_off", lambda: True)
    monkeypatch.setattr(_torch_hash, "_kernels", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the user's choice: no warning
        assert not _torch_hash.fused_here()
