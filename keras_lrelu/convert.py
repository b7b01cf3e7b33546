"""Reading and rewriting the rectifiers of an existing model."""

import warnings
from collections.abc import Callable

import keras
import numpy as np

from keras_lrelu._compat import Functional
from keras_lrelu.leaky_relu import LeakyReLU
from keras_lrelu.randomized import RandomizedLeakyReLU

_LEAKY_LAYERS = (LeakyReLU, RandomizedLeakyReLU, keras.layers.LeakyReLU, keras.layers.PReLU)

# Layers that apply their activation once, to their whole output, so a relu
# moved out of them into a rectifier after them computes the same thing. A
# recurrent layer's activation runs inside the recurrence: it cannot move.
ACTIVATION_ON_OUTPUT = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)


def iter_layers(model):
    """Yields every layer of `model`, descending into nested models."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from iter_layers(layer)


def get_alphas(model: keras.Model) -> dict[str, np.ndarray]:
    """Returns the learned slopes of every learned-slope layer in `model`.

    Example:

    ```python
    get_alphas(model)
    # {"leaky_re_lu": 0.25, "leaky_re_lu_1": array([0.25, 0.25, 0.25])}
    ```

    Returns:
        A dict `{layer_name: slope}`: a float for a scalar slope, a NumPy
        array of slopes for a channelwise one. Layers with a fixed slope are
        left out.
    """
    alphas = {}
    for layer in iter_layers(model):
        if isinstance(layer, LeakyReLU) and layer.trainable_alpha:
            value = np.asarray(keras.ops.convert_to_numpy(layer.alpha_weight))
            alphas[layer.name] = value if value.ndim else float(value)
    return alphas


def _is_relu_function(function):
    return getattr(function, "__name__", None) == "relu"


def is_plain_relu(layer):
    """A `ReLU()` with no cap, threshold or slope, or `Activation("relu")`."""
    if isinstance(layer, keras.layers.ReLU):
        return layer.max_value is None and not layer.negative_slope and not layer.threshold
    return isinstance(layer, keras.layers.Activation) and _is_relu_function(layer.activation)


def relu_inside(layer):
    """A Dense, Conv or other layer built with `activation="relu"` that
    applies it to its output (one of `ACTIVATION_ON_OUTPUT`), alone or
    wrapped in `TimeDistributed`."""
    if isinstance(layer, keras.layers.TimeDistributed):
        return relu_inside(layer.layer)
    return isinstance(layer, ACTIVATION_ON_OUTPUT) and _is_relu_function(layer.activation)


def relu_left_inside(layer):
    """A layer that uses relu where convert() cannot move it out: a
    recurrent layer or cell, or a wrapper around one."""
    if isinstance(layer, keras.layers.Activation) or relu_inside(layer):
        return False
    if any(_is_relu_function(getattr(layer, name, None)) for name in ("activation", "recurrent_activation")):
        return True
    inner = [getattr(layer, name, None) for name in ("layer", "forward_layer", "backward_layer", "cell")]
    inner += list(getattr(layer, "cells", None) or [])
    return any(isinstance(i, keras.layers.Layer) and relu_left_inside(i) for i in inner)


def _without_relu(layer):
    """A fresh copy of `layer` (from `relu_inside`) with a linear activation."""
    config = layer.get_config()
    inner = config["layer"]["config"] if isinstance(layer, keras.layers.TimeDistributed) else config
    inner["activation"] = "linear"
    return layer.__class__.from_config(config)


def is_rectifier(layer):
    """Any standalone rectifier layer, leaky or not."""
    return (
        isinstance(layer, _LEAKY_LAYERS + (keras.layers.ReLU,))
        or is_plain_relu(layer)
        or (
            isinstance(layer, keras.layers.Activation)
            and getattr(layer.activation, "__name__", None) == "leaky_relu"
        )
    )


def convert(
    model: keras.Model,
    alpha: float = 0.01,
    trainable_alpha: bool = False,
    channelwise: bool = False,
    rectifier: Callable[[], keras.layers.Layer] | None = None,
    **kwargs,
) -> keras.Model:
    """Returns a copy of `model` with every plain ReLU made a keras_lrelu
    `LeakyReLU` (or the layer `rectifier` makes), all weights kept.

    Rewritten: `ReLU()` layers with no cap, threshold or slope,
    `Activation("relu")`, and `activation="relu"` inside Dense, EinsumDense
    and every Conv layer, alone or in `TimeDistributed` (the activation
    moves out into a new layer named `<layer>_lrelu`). Capped ReLUs (ReLU6)
    and other activations stay as they are. A relu inside a recurrent layer
    (`SimpleRNN`, `LSTM`, `GRU`, `ConvLSTM*`, alone or in `Bidirectional`)
    runs inside the recurrence and cannot move out: those layers stay as
    they are, with a warning naming them. With `alpha=0` the new model
    computes what the old one did. Sequential models come back as
    equivalent Functional ones; nested models are converted too.

    Example:

    ```python
    resnet = keras.applications.ResNet50(weights=None)
    leaky = keras_lrelu.convert(resnet, alpha=0.01)   # all 49 ReLUs
    rrelu = keras_lrelu.convert(
        resnet, rectifier=lambda name: keras_lrelu.RandomizedLeakyReLU(name=name)
    )
    ```

    Args:
        model: A Sequential or Functional model.
        alpha, trainable_alpha, channelwise, **kwargs: Passed to
            `keras_lrelu.LeakyReLU` for each new layer.
        rectifier: Optional function `rectifier(name)` returning the new
            layer (named `name`) for each ReLU, e.g. a
            `RandomizedLeakyReLU`; `alpha`, `trainable_alpha`,
            `channelwise` and `**kwargs` are then unused.

    Raises:
        ValueError: for a subclassed model, whose `call` cannot be
            rewritten, or a `rectifier` that does not return a Keras layer.
    """

    def make_leaky(name):
        if rectifier is None:
            return LeakyReLU(
                alpha=alpha, trainable_alpha=trainable_alpha, channelwise=channelwise, name=name, **kwargs
            )
        layer = rectifier(name)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f"convert()'s rectifier must return a Keras layer. Received: rectifier={rectifier!r} "
                f"returning {type(layer).__name__}"
            )
        return layer

    if rectifier is None:
        make_leaky("check_arguments")  # bad arguments fail before any cloning
    clones = {}
    kept = [layer.name for layer in model.layers if relu_left_inside(layer)]
    if kept:
        warnings.warn(
            "convert() left these layers as they are: their relu runs inside "
            f"a recurrence and cannot move out: {', '.join(kept)}",
            stacklevel=2,
        )

    def clone_function(layer):
        if isinstance(layer, keras.Model):  # nested: converted, weights and all
            return convert(layer, alpha, trainable_alpha, channelwise, rectifier, **kwargs)
        if is_plain_relu(layer):
            clone = make_leaky(layer.name)
        elif relu_inside(layer):
            clone = _without_relu(layer)
        else:
            clone = layer.__class__.from_config(layer.get_config())
        clones[id(clone)] = layer
        return clone

    def call_function(layer, *args, **call_kwargs):
        outputs = layer(*args, **call_kwargs)
        if id(layer) in clones and relu_inside(clones[id(layer)]):
            outputs = make_leaky(f"{layer.name}_lrelu")(outputs)
        return outputs

    if isinstance(model, keras.Sequential):
        model = _as_functional(model)
    elif not isinstance(model, Functional):
        raise ValueError(
            "convert() rewrites Sequential and Functional models; a subclassed "
            "model's call() cannot be rewritten. Use keras_lrelu.LeakyReLU in "
            f"its code instead. Received: model of type {type(model).__name__}"
        )
    new_model = keras.models.clone_model(model, clone_function=clone_function, call_function=call_function)
    for layer in new_model.layers:
        original = clones.get(id(layer))
        if original is not None and original.weights:
            layer.set_weights(original.get_weights())
    return new_model


def relus_to_replace(model):
    """The names of the layers (nested ones too) whose ReLU `convert()`
    rewrites: plain ReLU layers and layers with `activation="relu"`."""
    return [layer.name for layer in iter_layers(model) if is_plain_relu(layer) or relu_inside(layer)]


def _as_functional(model):
    """A Sequential model as an equivalent Functional one, sharing layers."""
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            "convert() needs a built Sequential model (give it an Input or call "
            f"it once). Received: model {model.name!r}, not built"
        )
    inputs = outputs = model.inputs[0]
    for layer in model.layers:
        outputs = layer(outputs)
    return keras.Model(inputs, outputs, name=model.name)
