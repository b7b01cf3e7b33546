"""RandomizedLeakyReLU: a leaky rectifier whose slope is drawn at random."""

import keras
from keras import ops

from keras_lrelu.ops import check_slope
from keras_lrelu.ops import leaky_relu


@keras.saving.register_keras_serializable(package="keras_lrelu")
class RandomizedLeakyReLU(keras.layers.Layer):
    """Randomized leaky rectifier (RReLU, Xu et al. 2015).

    Formula:

    ```python
    f(x) = x          if x > 0
    f(x) = alpha * x  otherwise
    # training:  alpha ~ U(lower, upper), drawn for every element
    # inference: alpha = (lower + upper) / 2
    ```

    Example:

    ```python
    layer = RandomizedLeakyReLU(lower=0.1, upper=0.3, seed=0)
    layer(np.array([-10.0, 0.0, 5.0]))  # inference
    # [-2.0, 0.0, 5.0]
    ```

    Args:
        lower: Float >= 0. Smallest slope drawn. Defaults to `1/8`, as in
            PyTorch's `RReLU`.
        upper: Float >= `lower`. Largest slope drawn. Defaults to `1/3`.
        seed: Int or None. Seeds the slopes drawn in training.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lower = check_slope("lower", lower)
        self.upper = check_slope("upper", upper)
        if self.lower > self.upper:
            raise ValueError(f"`lower` must not exceed `upper`. Received: lower={lower!r}, upper={upper!r}")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        # No weights: built at construction, as Keras's Dropout is (unless a
        # subclass brings a build of its own, which Keras leaves to run).
        if type(self).build is keras.layers.Layer.build:
            self.build(None)

    @property
    def mean_alpha(self):
        """The slope used at inference."""
        return (self.lower + self.upper) / 2

    def call(self, inputs, training=False):
        if not training:
            return leaky_relu(inputs, self.mean_alpha)
        inputs = ops.convert_to_tensor(inputs)
        if keras.backend.backend() in ("tensorflow", "torch"):
            fast = _fast_path(keras.backend.backend())
            return fast.randomized_leaky_relu(inputs, self.seed_generator.next(), self.lower, self.upper)
        alpha = keras.random.uniform(
            ops.shape(inputs),
            minval=self.lower,
            maxval=self.upper,
            dtype=inputs.dtype,
            seed=self.seed_generator,
        )
        return ops.where(inputs > 0, inputs, alpha * inputs)

    def get_config(self):
        config = super().get_config()
        config.update({"lower": self.lower, "upper": self.upper, "seed": self.seed})
        return config

    def compute_output_shape(self, input_shape):
        return input_shape


def _fast_path(backend):
    """The backend's module of fast paths (keras_lrelu/_tensorflow.py, _torch.py)."""
    if backend == "tensorflow":
        from keras_lrelu import _tensorflow

        return _tensorflow
    from keras_lrelu import _torch

    return _torch
