"""The names the command line offers, defined once. This module imports
nothing, so the command line can check its arguments before TensorFlow."""

# The rectifiers the search can put in the model (tuning/hypermodel.py).
MODES = ("fixed", "trainable", "channelwise", "randomized", "relu")
# KerasTuner's tuners (tuning/search.py).
TUNER_NAMES = ("bayesian", "random", "hyperband", "grid")
# How repeats are pruned (tuning/repeats.py): never, or against the median
# of the finished configurations, once this many have finished.
PRUNERS = ("none", "median")
PRUNE_STARTUP_CONFIGURATIONS = 3
# Beside every export (tuning/card.py); an export replaces only a folder holding one.
CARD_NAME = "model_card.json"
