"""The bounds that keep a learned slope in range."""

import math
import numbers

import keras
from keras import ops


def check_bounds(bounds):
    """Returns `bounds` as a `(low, high)` tuple of floats, or None.

    Raises:
        ValueError: unless `bounds` is None or a pair of finite numbers
            with `low <= high`.
    """
    if bounds is None:
        return None
    if isinstance(bounds, (list, tuple)) and len(bounds) == 2:
        low, high = bounds
        if (
            all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b)
                for b in (low, high)
            )
            and low <= high
        ):
            return (float(low), float(high))
    raise ValueError(
        "`alpha_bounds` must be None or a pair (low, high) of finite numbers "
        f"with low <= high. Received: alpha_bounds={bounds!r}"
    )


@keras.saving.register_keras_serializable(package="keras_lrelu")
class AlphaBounds(keras.constraints.Constraint):
    """Clips a learned slope into `[low, high]` after every optimizer step.

    Example:

    ```python
    AlphaBounds(0.0, 1.0)(np.array([-0.5, 0.25, 3.0]))
    # [0.0, 0.25, 1.0]
    ```

    Args:
        low: Float, the smallest slope allowed.
        high: Float, the largest slope allowed, `>= low`.
    """

    def __init__(self, low: float = 0.0, high: float = 1.0) -> None:
        self.low, self.high = check_bounds((low, high))

    def __call__(self, w):
        return ops.clip(w, self.low, self.high)

    def get_config(self):
        return {"low": self.low, "high": self.high}
