import numpy as np
import pytest
from keras import ops

import keras_lrelu


def np_leaky_relu(x, alpha):
    return np.where(x > 0, x, alpha * x)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 1.0, 2.5])
def test_float_alpha_matches_numpy(alpha):
    x = np.random.randn(4, 7).astype("float32")
    x[0, :3] = 0.0
    out = keras_lrelu.leaky_relu(x, alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(out), np_leaky_relu(x, alpha), rtol=1e-6)


def test_tensor_alpha_broadcasts_like_numpy():
    x = np.random.randn(2, 5, 3).astype("float32")
    alpha = np.array([0.0, 0.2, 1.7], dtype="float32")
    out = keras_lrelu.leaky_relu(x, ops.convert_to_tensor(alpha))
    np.testing.assert_allclose(ops.convert_to_numpy(out), np_leaky_relu(x, alpha), rtol=1e-6)


def test_float16_input_keeps_dtype():
    x = np.random.randn(3, 4).astype("float16")
    out = keras_lrelu.leaky_relu(x, ops.convert_to_tensor(np.float32(0.2)))
    assert ops.convert_to_numpy(out).dtype == np.float16


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -0.1, "0.1", True, [0.1]])
def test_bad_alpha_is_refused(bad):
    with pytest.raises(ValueError, match=r"`alpha` must be a finite number >= 0\. Received: alpha="):
        keras_lrelu.leaky_relu(np.ones(3), bad)
