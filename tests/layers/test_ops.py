import keras
import numpy as np
import pytest
from conftest import round_to
from keras import ops

import keras_lrelu
from keras_lrelu.ops import leaky_relu_for_training


def np_leaky_relu(x, alpha):
    return np.where(x > 0, x, alpha * x)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 1.0, 2.5])
def test_float_alpha_matches_numpy(alpha):
    x = np.random.randn(4, 7).astype("float32")
    x[0, :3] = 0.0
    out = keras_lrelu.leaky_relu(x, alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(out), np_leaky_relu(x, alpha), rtol=1e-6)


@pytest.mark.parametrize(
    "function", [keras_lrelu.leaky_relu, leaky_relu_for_training], ids=["inference", "training"]
)
@pytest.mark.parametrize(
    "alpha_shape", [(), (3,), (5, 1), (2, 1, 1)], ids=["scalar", "last-axis", "axis-1", "batch"]
)
def test_tensor_alpha_equals_the_formula_bit_for_bit(function, alpha_shape):
    rng = np.random.RandomState(0)
    x = rng.randn(2, 5, 3).astype("float32")
    x[0, 0] = 0.0
    x[1, 1] = -0.0
    alpha = rng.uniform(0, 1.7, alpha_shape).astype("float32")
    out = ops.convert_to_numpy(function(x, ops.convert_to_tensor(alpha)))
    np.testing.assert_array_equal(out, np_leaky_relu(x, alpha))
    assert out.shape == x.shape


def test_float16_input_keeps_dtype():
    x = np.random.randn(3, 4).astype("float16")
    out = keras_lrelu.leaky_relu(x, ops.convert_to_tensor(np.float32(0.2)))
    assert ops.convert_to_numpy(out).dtype == np.float16


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -0.1, "0.1", True, [0.1]])
def test_bad_alpha_is_refused(bad):
    with pytest.raises(ValueError, match=r"`alpha` must be a finite number >= 0\. Received: alpha="):
        keras_lrelu.leaky_relu(np.ones(3), bad)


def _value_and_grads(fn, x, alpha, upstream, jit_compile=None):
    import tensorflow as tf

    def run(x, alpha):
        with tf.GradientTape() as tape:
            tape.watch([x, alpha])
            y = fn(x, alpha)
        return (y, *tape.gradient(y, [x, alpha], output_gradients=upstream))

    if jit_compile is not None:
        run = tf.function(run, jit_compile=jit_compile)
    return [np.asarray(t, "float32") for t in run(x, alpha)]


def _plain(x, alpha):
    return ops.where(x > 0, x, alpha * x)


@pytest.mark.parametrize("jit_compile", [None, False, True], ids=["eager", "graph", "xla"])
@pytest.mark.parametrize("slope", [0.0, 0.3, 1.7])
@pytest.mark.parametrize("alpha_shape", [(), (4,), (3, 1, 1)], ids=["scalar", "last-axis", "axis-1"])
@pytest.mark.tensorflow_only
def test_fast_gradient_equals_the_plain_formula(alpha_shape, slope, jit_compile):
    import tensorflow as tf

    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 5, 4).astype("float32")
    x[0, 0] = 0.0  # the kink: gradient alpha, like the plain formula
    alpha = np.full(alpha_shape, slope, "float32") + rng.uniform(0, 0.1, alpha_shape).astype("float32")
    upstream = rng.randn(*x.shape).astype("float32")
    args = [tf.constant(v) for v in (x, alpha, upstream)]
    ours = _value_and_grads(leaky_relu_for_training, *args, jit_compile=jit_compile)
    plain = _value_and_grads(_plain, *args, jit_compile=jit_compile)
    np.testing.assert_array_equal(ours[0], plain[0])  # y
    np.testing.assert_array_equal(ours[1], plain[1])  # dx
    np.testing.assert_allclose(ours[2], plain[2], rtol=1e-5, atol=1e-5)  # d alpha: sum order
    assert ours[2].shape == alpha.shape


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("alpha_shape", [(), (4,)], ids=["scalar", "last-axis"])
@pytest.mark.tensorflow_only
def test_fast_gradient_with_unknown_shapes_and_ragged_rows(alpha_shape, jit_compile):
    """d(alpha) is summed in blocks of rows padded with zeros; here the
    batch and spatial sizes are unknown when traced (a model on
    `keras.Input((None, None, 4))`) and the rows fill no whole block."""
    import tensorflow as tf

    rng = np.random.RandomState(2)
    alpha = tf.constant(rng.uniform(0.1, 0.5, alpha_shape).astype("float32"))
    spec = tf.TensorSpec((None, None, None, 4), tf.float32)

    def grads(fn):
        @tf.function(input_signature=[spec, spec], jit_compile=jit_compile)
        def run(x, upstream):
            with tf.GradientTape() as tape:
                tape.watch([x, alpha])
                y = fn(x, alpha)
            return tape.gradient(y, [x, alpha], output_gradients=upstream)

        return run

    ours, plain = grads(leaky_relu_for_training), grads(_plain)
    for shape in [(3, 7, 5, 4), (1, 1, 1, 4), (0, 2, 2, 4), (33, 9, 11, 4)]:
        x, upstream = (tf.constant(rng.randn(*shape).astype("float32")) for _ in range(2))
        (dx, dalpha), (plain_dx, plain_dalpha) = ours(x, upstream), plain(x, upstream)
        np.testing.assert_array_equal(dx, plain_dx)
        np.testing.assert_allclose(dalpha, plain_dalpha, rtol=1e-5, atol=1e-4)
        assert dalpha.shape == alpha_shape


@pytest.mark.tensorflow_only
def test_fast_gradient_in_float16_sums_alpha_in_float32():
    import tensorflow as tf

    rng = np.random.RandomState(1)
    x = rng.randn(64, 32, 32, 8).astype("float16")
    upstream = rng.randn(*x.shape).astype("float16")
    alpha = tf.constant(np.full((8,), 0.25, "float16"))
    y, dx, dalpha = _value_and_grads(leaky_relu_for_training, tf.constant(x), alpha, tf.constant(upstream))
    x32, up32 = x.astype("float32"), upstream.astype("float32")
    np.testing.assert_array_equal(y, np.where(x > 0, x, np.float16(0.25) * x).astype("float32"))
    np.testing.assert_array_equal(
        dx, np.where(x > 0, upstream, np.float16(0.25) * upstream).astype("float32")
    )
    expected = np.where(x32 > 0, 0, up32 * x32).sum(axis=(0, 1, 2))
    # float16 has 11 significant bits: the float32 sum, rounded once.
    np.testing.assert_allclose(dalpha, expected, rtol=2e-3, atol=0.05)


@pytest.mark.tensorflow_only
def test_xla_context_is_detected_where_keras_compiles_with_xla():
    """The private TensorFlow helper the fast paths lean on still exists and
    tells a model compiled with jit_compile=True from graph mode."""
    import keras

    from keras_lrelu import _tensorflow

    seen = {}

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen[self.jit] = _tensorflow.in_xla_context()
            return x

    for jit in (False, True):
        inputs = keras.Input((2,))
        probe = Probe()
        probe.jit = jit
        model = keras.Model(inputs, keras.layers.Dense(1)(probe(inputs)))
        model.compile("sgd", "mse", jit_compile=jit)
        model.train_on_batch(np.ones((2, 2)), np.ones((2, 1)))
    assert seen == {False: False, True: True}


def _backend_value_and_grads(fn, x, alpha, upstream, dtype):
    """y, dx, d(alpha) of `fn(x, alpha)` on this process's Keras backend,
    with `x` and `upstream` in `dtype` and `alpha` in float32 (a learned
    slope under mixed precision), as float64 NumPy arrays."""
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        torch_dtype = getattr(torch, dtype)
        xt = torch.tensor(x).to(torch_dtype).requires_grad_(True)
        at = torch.tensor(alpha).requires_grad_(True)
        y = fn(xt, at)
        y.backward(torch.tensor(upstream).to(torch_dtype))
        results = (y.detach(), xt.grad, at.grad)
    elif backend == "jax":
        import jax

        y, pullback = jax.vjp(fn, ops.cast(x, dtype), ops.convert_to_tensor(alpha))
        results = (y, *pullback(ops.cast(upstream, dtype)))
    else:
        import tensorflow as tf

        xt, at = ops.cast(x, dtype), tf.constant(alpha)
        with tf.GradientTape() as tape:
            tape.watch([xt, at])
            y = fn(xt, at)
        results = (y, *tape.gradient(y, [xt, at], output_gradients=ops.cast(upstream, dtype)))
    return [ops.convert_to_numpy(ops.cast(t, "float32")).astype("float64") for t in results]


def _plain_in_dtype_of_x(x, alpha):
    return ops.where(x > 0, x, ops.cast(alpha, x.dtype) * x)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("alpha_shape", [(), (4,), (3, 1, 1)], ids=["scalar", "last-axis", "channels-first"])
def test_training_path_gradients_equal_the_plain_formula_on_every_backend(alpha_shape, dtype):
    """The fast path of each backend (TensorFlow's XLA passes, PyTorch's
    autograd Function, JAX's custom gradient) gives the formula's values
    and dx exactly, in float32 and bfloat16, and its d(alpha) summed in
    float32 from the same elementwise products (on TensorFlow and JAX the
    slope is cast to x's dtype, so its gradient is that sum rounded once to
    it; PyTorch keeps the slope's float32)."""
    rng = np.random.RandomState(0)
    x = rng.randn(8, 3, 5, 4).astype("float32")
    x[0, 0] = 0.0  # the kink: gradient alpha, like the plain formula
    alpha = rng.uniform(0.05, 1.5, alpha_shape).astype("float32")
    upstream = rng.randn(*x.shape).astype("float32")
    y, dx, dalpha = _backend_value_and_grads(leaky_relu_for_training, x, alpha, upstream, dtype)
    plain_y, plain_dx, _ = _backend_value_and_grads(_plain_in_dtype_of_x, x, alpha, upstream, dtype)
    np.testing.assert_array_equal(y, plain_y)
    np.testing.assert_array_equal(dx, plain_dx)
    # d(alpha): the sum over negative inputs of upstream * x, each product in `dtype`.
    xd, ud = (round_to(v, dtype) for v in (x, upstream))
    products = round_to(np.where(xd > 0, 0.0, ud * xd), dtype)
    padded = (1,) * (x.ndim - len(alpha_shape)) + alpha_shape
    axes = tuple(i for i, size in enumerate(padded) if size == 1)
    expected = products.sum(axis=axes).reshape(alpha_shape)
    if keras.backend.backend() != "torch":  # the slope is cast to x's dtype, so is its gradient
        expected = round_to(expected, dtype)
    np.testing.assert_allclose(dalpha, expected, rtol=1e-5, atol=1e-4)
    assert dalpha.shape == alpha_shape
