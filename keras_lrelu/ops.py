"""The leaky rectifier as a function, and the argument checks the layers share."""

import math
import numbers

import keras
import numpy as np
from keras import ops


def check_slope(name, value):
    """Returns `value` as a Python float if it is a finite number >= 0.

    Bools, strings, None, lists and NaN/inf are refused rather than coerced,
    so that a typo in a config never silently becomes a slope.

    Raises:
        ValueError: naming the argument and the value received.
    """
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}"
        )
    return float(value)


def leaky_relu(x, alpha=0.3):
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
        # A constant slope takes the backend's fused kernel, the same one
        # keras.layers.LeakyReLU runs.
        return ops.leaky_relu(x, negative_slope=check_slope("alpha", alpha))
    alpha = ops.cast(alpha, x.dtype)
    return ops.where(x > 0, x, alpha * x)


def _is_tensor(value):
    return isinstance(value, (np.ndarray, keras.Variable)) or ops.is_tensor(value)
