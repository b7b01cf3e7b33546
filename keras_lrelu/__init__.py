"""Leaky ReLU layers for Keras 3: fixed, learned and randomized slopes."""

from keras_lrelu.callbacks import AlphaHistory
from keras_lrelu.callbacks import DeadUnitMonitor
from keras_lrelu.constraints import AlphaBounds
from keras_lrelu.convert import convert
from keras_lrelu.convert import get_alphas
from keras_lrelu.leaky_relu import LeakyReLU
from keras_lrelu.ops import leaky_relu
from keras_lrelu.randomized import RandomizedLeakyReLU

__version__ = "0.1.0"

__all__ = [
    "AlphaBounds",
    "AlphaHistory",
    "DeadUnitMonitor",
    "LeakyReLU",
    "RandomizedLeakyReLU",
    "convert",
    "get_alphas",
    "leaky_relu",
]
