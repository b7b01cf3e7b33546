"""The leaky rectifier as a function, and the argument checks the layers share."""

import functools
import math
import numbers

import keras
import numpy as np
from keras import ops
from numpy.typing import ArrayLike


def check_slope(name, value):
    """Returns `value` as a Python float if it is a finite number >= 0.

    Bools, strings, None, lists and NaN/inf are refused rather than coerced,
    so that a typo in a config never silently becomes a slope.

    Raises:
        ValueError: naming the argument and the value received.
    """
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0. Received: {name}={value!r}")
    return float(value)


def leaky_relu(x: ArrayLike, alpha: float | ArrayLike = 0.3) -> ArrayLike:
    """Leaky rectifier: `x` where `x > 0`, `alpha * x` elsewhere.

    Formula:

    ```python
    f(x) = x          if x > 0
    f(x) = alpha * x  otherwise
    ```

    Example:

    ```python
    keras_lrelu.leaky_relu(np.array([-10.0, -5.0, 0.0, 5.0]), alpha=0.5)
    # [-5.0, -2.5, 0.0, 5.0]
    ```

    A float `alpha` runs the backend's fused kernel, the one
    `keras.layers.LeakyReLU` runs. A tensor `alpha` is computed as
    `keras.layers.PReLU` computes it, `relu(x) + (-alpha) * relu(-x)`, the
    form model converters map to one native PReLU op (LiteRT's `PRELU`);
    the values are those of the formula above, bit for bit.

    Args:
        x: Input tensor.
        alpha: Python float >= 0 (any value, including above 1), or a tensor,
            array or variable that broadcasts against `x` (e.g. a learned
            slope per channel).

    Returns:
        A tensor of the same shape and dtype as `x`.
    """
    x = ops.convert_to_tensor(x)
    if not _is_tensor(alpha):
        return ops.leaky_relu(x, negative_slope=check_slope("alpha", alpha))
    alpha = ops.cast(alpha, x.dtype)
    # Converters match the PReLU pattern only for a slope of rank(x) - 1.
    missing = len(x.shape) - 1 - len(alpha.shape)
    if missing > 0:
        alpha = ops.reshape(alpha, (1,) * missing + tuple(alpha.shape))
    return ops.relu(x) + ops.negative(alpha) * ops.relu(ops.negative(x))


def fixed_leaky_relu_for_training(x, alpha):
    """`leaky_relu(x, alpha)` for a float `alpha` in training: the same values
    and gradients; on TensorFlow, a gradient that lets its graph optimizer
    fuse a convolution with the rectifier (keras_lrelu/_tensorflow.py)."""
    alpha = check_slope("alpha", alpha)
    if _fixed_for_training is None:
        return leaky_relu(x, alpha)
    return _fixed_for_training(ops.convert_to_tensor(x), alpha)


def leaky_relu_for_training(x, alpha):
    """`where(x > 0, x, alpha * x)` for a tensor `alpha`, fast to train.

    The layers call this when `training=True`. Automatic differentiation of
    the formula keeps the comparison mask and `alpha * x` alive and runs a
    pass over the tensor per op; this keeps only `x`, and on TensorFlow runs
    the forward pass and the backward pass (dx and d(alpha) together) as one
    XLA-compiled function each, even when the model itself runs in graph
    mode, where the formula would otherwise be three kernels forward and
    five backward. On PyTorch it runs torch's fused PReLU kernel forward
    and a backward pass without boolean masks (keras_lrelu/_torch.py).
    """
    x = ops.convert_to_tensor(x)
    alpha = ops.convert_to_tensor(alpha)
    if len(alpha.shape) > len(x.shape):
        return slope_forward(x, ops.cast(alpha, x.dtype))
    if _torch is not None:  # alpha keeps its dtype, and so does its gradient
        return _torch.leaky_relu_with_slope(x, alpha)
    return _leaky_relu_with_slope(x, ops.cast(alpha, x.dtype))


@ops.custom_gradient
def _leaky_relu_with_slope(x, alpha):
    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        dx, dalpha = _slope_gradients(x, upstream, alpha)
        return dx, finish_slope_gradient(dalpha, alpha)

    return _slope_forward(x, alpha), grad


def slope_forward(x, alpha):
    """The plain formula, `where(x > 0, x, alpha * x)`."""
    return ops.where(x > 0, x, alpha * x)


def slope_gradients(x, upstream, alpha, fold_rows=False):
    """dx and d(alpha) of `where(x > 0, x, alpha * x)` for `upstream`.

    d(alpha) sums `upstream * x` over the negative inputs along every axis
    `alpha` is broadcast along. With `fold_rows`, the rows of an image
    tensor are first added in blocks (see ROW_BLOCKS), for this function
    compiled by XLA on its own; d(alpha) may then come back as partial sums
    that `finish_slope_gradient` adds up outside it, because XLA merges
    consecutive sums that end in few numbers into one slow sum.
    """
    positive = x > 0
    dx = ops.where(positive, upstream, alpha * upstream)
    contribution = ops.where(positive, ops.zeros_like(x), upstream * x)
    # Half-precision sums over millions of elements lose the slope's
    # gradient; accumulate in float32.
    if keras.backend.standardize_dtype(contribution.dtype) in ("float16", "bfloat16"):
        contribution = ops.cast(contribution, "float32")
    padded = (1,) * (len(x.shape) - len(alpha.shape)) + tuple(alpha.shape)
    sums = _partial_sums(contribution, padded, fold_rows)
    if math.prod(sums.shape) == math.prod(alpha.shape):  # complete: finish here
        sums = finish_slope_gradient(sums, alpha)
    return dx, sums


def finish_slope_gradient(sums, alpha):
    """d(alpha) from what `slope_gradients` returned for it: as it is when
    finished (graph mode pays per op, so a finished d(alpha) takes none),
    else its partial sums added up."""
    same_dtype = keras.backend.standardize_dtype(sums.dtype) == keras.backend.standardize_dtype(alpha.dtype)
    if tuple(sums.shape) == tuple(alpha.shape) and same_dtype:
        return sums
    total = ops.sum(ops.reshape(sums, (-1, math.prod(alpha.shape))), axis=0)
    return ops.reshape(ops.cast(total, alpha.dtype), alpha.shape)


# XLA on CPU sums a tall column by walking each channel's rows one after
# another; adding ROW_BLOCKS blocks of rows element by element first, then the
# LANES-wide column left, runs at memory speed (docs/performance.md). Only for
# image tensors compiled on their own: a Dense output or a model XLA compiles
# whole sums faster plainly.
ROW_BLOCKS = 8
LANES = 128


def _partial_sums(contribution, padded_shape, fold_rows):
    """Sums of `contribution` over the axes where `padded_shape` is 1:
    complete, or with `fold_rows` about LANES partial sums, a whole number
    per slope, in the slopes' order."""
    axes = tuple(i for i, size in enumerate(padded_shape) if size == 1)
    if not axes:
        return contribution
    if not fold_rows or len(padded_shape) < 3 or axes != tuple(range(len(axes))):
        return ops.sum(contribution, axis=axes)
    slopes = math.prod(padded_shape[len(axes) :])
    lanes = slopes * max(1, LANES // slopes)
    flat = ops.reshape(contribution, (-1,))
    # Zeros pad to a whole number of blocks of rows; they add nothing.
    missing = (-ops.shape(flat)[0]) % (ROW_BLOCKS * lanes)
    flat = ops.pad(flat, [[0, missing]])
    blocks = ops.sum(ops.reshape(flat, (ROW_BLOCKS, -1)), axis=0)
    return ops.sum(ops.reshape(blocks, (-1, lanes)), axis=0)


_torch = None
_fixed_for_training = None
if keras.backend.backend() == "tensorflow":
    from keras_lrelu._tensorflow import compiled
    from keras_lrelu._tensorflow import fixed_leaky_relu as _fixed_for_training

    _slope_forward = compiled(slope_forward)
    _slope_gradients = compiled(functools.partial(slope_gradients, fold_rows=True), inline=slope_gradients)
else:
    if keras.backend.backend() == "torch":
        from keras_lrelu import _torch
    _slope_forward = slope_forward
    _slope_gradients = slope_gradients


def _is_tensor(value):
    return isinstance(value, (np.ndarray, keras.Variable)) or ops.is_tensor(value)
