"""Names the command line and the files share, defined once. This module
imports nothing, so the command line can check its arguments before
TensorFlow. (The pruners and the export formats are registries of their
own: tuning/search/pruners/, tuning/export/formats.py.)"""

# The rectifiers the search can put in the model (tuning/search/hypermodel.py).
MODES = ("fixed", "trainable", "channelwise", "randomized", "relu")
# Where a --model search's runs start (tuning/search/user_model.py): new weights, or the file's.
INIT_CHOICES = ("fresh", "pretrained")
# KerasTuner's tuners (tuning/search/tuners.py).
TUNER_NAMES = ("bayesian", "random", "hyperband", "grid")
# Beside every export (tuning/export/cards.py); an export replaces only a folder holding one.
CARD_NAME = "model_card.json"
# Set by `--workers N` for its chief: how many processes train each round of a race.
ROUND_WORKERS_ENV = "KERAS_LRELU_ROUND_WORKERS"
# The user's command, which `--workers N` hands its chief: what results.csv, verdict.json and
# the card record, and what reruns the search (not the chief's own --role chief command).
COMMAND_ENV = "KERAS_LRELU_SEARCH_COMMAND"
# Set by `--workers N` for its chief and workers: the launcher's pid, which they end with.
LAUNCHER_PID_ENV = "KERAS_LRELU_LAUNCHER_PID"
