"""LeakyReLU: a leaky rectifier with a fixed or a learned slope."""

import keras
from keras import ops

from keras_lrelu.constraints import AlphaBounds
from keras_lrelu.constraints import check_bounds
from keras_lrelu.ops import check_slope
from keras_lrelu.ops import fixed_leaky_relu_for_training
from keras_lrelu.ops import leaky_relu
from keras_lrelu.ops import leaky_relu_for_training

_UNSET = object()


@keras.saving.register_keras_serializable(package="keras_lrelu")
class LeakyReLU(keras.layers.Layer):
    """Leaky rectifier whose negative slope is fixed or learned.

    Formula:

    ```python
    f(x) = x          if x > 0
    f(x) = alpha * x  otherwise
    ```

    With `trainable_alpha=False` (the default) this is a drop-in for
    `keras.layers.LeakyReLU`: no weights, the same values for every
    `alpha >= 0`. With `trainable_alpha=True`, `alpha` is the starting value
    of a learned slope (like `keras.layers.PReLU`), one scalar by default or
    one per channel with `channelwise=True`; unlike PReLU, only the channel
    axis must be known, so a model on `keras.Input((None, None, 3))` takes
    images of any size.

    Example:

    ```python
    layer = LeakyReLU(alpha=0.5)
    layer(np.array([-10.0, -5.0, 0.0, 5.0]))
    # [-5.0, -2.5, 0.0, 5.0]
    ```

    Args:
        alpha: Float >= 0. The negative slope, or the initial one when
            learned. Defaults to `0.3`, as in `keras.layers.LeakyReLU`.
        trainable_alpha: Bool. Learn the slope. Defaults to `False`.
        channelwise: Bool. With `trainable_alpha`, one slope per channel
            along `axis` instead of one for the whole layer. Defaults to
            `False`.
        axis: Int or None. The channel axis for `channelwise`. Defaults to
            None: the channel axis of `keras.config.image_data_format()`
            when the layer is made (`-1` for `"channels_last"`, `1` for
            `"channels_first"`), stored as that int in the config.
        alpha_bounds: `(low, high)` finite floats, or None. A learned slope
            is clipped into this range after every optimizer step; None
            leaves it free. The initial `alpha` must lie inside. Defaults to
            `(0.0, 1.0)`.
        alpha_regularizer: Regularizer for a learned slope. Defaults to None.
        negative_slope: Float >= 0. Keras's name for `alpha`; pass one of
            the two.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(
        self,
        alpha: float = _UNSET,
        trainable_alpha: bool = False,
        channelwise: bool = False,
        axis: int | None = None,
        alpha_bounds: tuple[float, float] | None = (0.0, 1.0),
        alpha_regularizer: str | keras.regularizers.Regularizer | None = None,
        negative_slope: float = _UNSET,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if alpha is not _UNSET and negative_slope is not _UNSET:
            raise ValueError(
                "Pass `alpha` or `negative_slope`, not both. Received: "
                f"alpha={alpha!r}, negative_slope={negative_slope!r}"
            )
        if negative_slope is not _UNSET:
            self.alpha = check_slope("negative_slope", negative_slope)
        else:
            self.alpha = check_slope("alpha", 0.3 if alpha is _UNSET else alpha)
        for name, value in (("trainable_alpha", trainable_alpha), ("channelwise", channelwise)):
            if not isinstance(value, bool):
                raise ValueError(f"`{name}` must be a bool. Received: {name}={value!r}")
        if channelwise and not trainable_alpha:
            raise ValueError(
                "`channelwise=True` needs `trainable_alpha=True`. "
                f"Received: channelwise={channelwise}, "
                f"trainable_alpha={trainable_alpha}"
            )
        if axis is None:
            channels_first = keras.config.image_data_format() == "channels_first"
            axis = 1 if channels_first else -1
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"`axis` must be an int or None. Received: axis={axis!r}")
        self.alpha_bounds = check_bounds(alpha_bounds)
        if trainable_alpha and self.alpha_bounds is not None:
            low, high = self.alpha_bounds
            if not low <= self.alpha <= high:
                raise ValueError(
                    "The initial `alpha` must lie inside `alpha_bounds`. "
                    f"Received: alpha={self.alpha}, "
                    f"alpha_bounds={self.alpha_bounds}"
                )
        self.trainable_alpha = trainable_alpha
        self.channelwise = channelwise
        self.axis = axis
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.supports_masking = True
        # Stateless: built at construction, as Keras's LeakyReLU is (unless a
        # subclass brings a build of its own, which Keras leaves to run).
        if not trainable_alpha and type(self).build is LeakyReLU.build:
            self.build(None)

    @property
    def negative_slope(self):
        return self.alpha

    def build(self, input_shape):
        if not self.trainable_alpha:
            return
        shape = ()
        self._alpha_broadcast_shape = None
        if self.channelwise:
            rank = len(input_shape)
            axis = self.axis % rank if -rank <= self.axis < rank else None
            if axis is None or axis == 0:
                raise ValueError(
                    "`axis` must name a non-batch axis of the input. "
                    f"Received: axis={self.axis}, input_shape={input_shape}"
                )
            channels = input_shape[axis]
            if channels is None:
                raise ValueError(
                    "A channelwise slope needs the size of the channel axis "
                    f"to be known. Received: axis={self.axis}, "
                    f"input_shape={input_shape}"
                )
            shape = (channels,)
            self._alpha_broadcast_shape = (channels,) + (1,) * (rank - 1 - axis)
            self.input_spec = keras.layers.InputSpec(ndim=rank, axes={axis: channels})
        constraint = AlphaBounds(*self.alpha_bounds) if self.alpha_bounds else None
        self.alpha_weight = self.add_weight(
            name="alpha",
            shape=shape,
            initializer=keras.initializers.Constant(self.alpha),
            regularizer=self.alpha_regularizer,
            constraint=constraint,
        )

    def call(self, inputs, training=None):
        if not self.trainable_alpha:
            if training:
                return fixed_leaky_relu_for_training(inputs, self.alpha)
            return leaky_relu(inputs, self.alpha)
        alpha = self.alpha_weight
        if self._alpha_broadcast_shape is not None:
            alpha = ops.reshape(alpha, self._alpha_broadcast_shape)
        if training:
            return leaky_relu_for_training(inputs, alpha)
        # Inference (predict, export) takes the form converters map to one
        # native PReLU op; the values are the same.
        return leaky_relu(inputs, alpha)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "trainable_alpha": self.trainable_alpha,
                "channelwise": self.channelwise,
                "axis": self.axis,
                "alpha_bounds": (list(self.alpha_bounds) if self.alpha_bounds else None),
                "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return input_shape
