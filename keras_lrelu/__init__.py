"""Leaky ReLU layers for Keras 3: fixed, learned and randomized slopes."""

from keras_lrelu.constraints import AlphaBounds
from keras_lrelu.convert import get_alphas
from keras_lrelu.leaky_relu import LeakyReLU
from keras_lrelu.ops import leaky_relu
from keras_lrelu.randomized import RandomizedLeakyReLU

__version__ = "0.1.0"

__all__ = [
    "AlphaBounds",
    "LeakyReLU",
    "RandomizedLeakyReLU",
    "get_alphas",
    "leaky_relu",
]
