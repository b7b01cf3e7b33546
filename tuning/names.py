"""The names the command line offers, defined once. This module imports
nothing, so the command line can check its arguments before TensorFlow."""

# The rectifiers the search can put in the model (tuning/search/hypermodel.py).
MODES = ("fixed", "trainable", "channelwise", "randomized", "relu")
# KerasTuner's tuners (tuning/search/tuners.py).
TUNER_NAMES = ("bayesian", "random", "hyperband", "grid")
# How repeats are pruned (tuning/search/records.py): never, or against the median
# of the finished configurations, once this many have finished.
PRUNERS = ("none", "median")
PRUNE_STARTUP_CONFIGURATIONS = 3
# Beside every export (tuning/export/cards.py); an export replaces only a folder holding one.
CARD_NAME = "model_card.json"
