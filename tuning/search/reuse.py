"""Built and traced models kept across a configuration's repeats.

A repeat's first epoch costs about twice a later one: Keras traces (and on
JAX compiles) its train and test steps for every new model, and the
dead-unit probe is rebuilt. A configuration's repeats share one model
instead: repeat j still builds its model from its own seed (a build is
cheap; tracing is not), and the kept model takes every value of that fresh
build (weights, the seed generators' states, the optimizer's slots and
step), so it trains bit for bit as the fresh build would
(tests/search/test_reuse.py, on TensorFlow, JAX and PyTorch).
"""

import collections

import keras
import numpy as np

# Configurations whose models are kept at once: a race goes round all of them.
KEPT_MODELS = 16


class ReusedModels:
    """The kept models, by configuration, least recently used dropped first."""

    def __init__(self, capacity=KEPT_MODELS):
        self.capacity = capacity
        self._models = collections.OrderedDict()

    def take(self, key, fresh):
        """The model to train for configuration `key`, given `fresh`, the
        model a build of this repeat just made: the kept one set to
        `fresh`'s values, or `fresh` itself (then kept) if none is kept or
        its variables do not match."""
        kept = self._models.pop(key, None)
        if kept is not None and _layout(kept) == _layout(fresh):
            copy_state(fresh, kept)
        else:
            kept = fresh
        self._models[key] = kept
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)
        return kept

    def models(self):
        return list(self._models.values())


def copy_state(source, target):
    """Sets every variable of `target` (model and optimizer) to `source`'s
    value, as a copy: JAX donates the buffers a training step reads."""
    pairs = [
        *zip(source.variables, target.variables),
        *zip(source.optimizer.variables, target.optimizer.variables),
    ]
    for origin, variable in pairs:
        variable.assign(np.array(keras.ops.convert_to_numpy(origin)))


def _layout(model):
    variables = [*model.variables, *model.optimizer.variables]
    return [(v.path, tuple(v.shape), str(v.dtype)) for v in variables]


class EpochDataOrder(keras.callbacks.Callback):
    """Seeds every epoch's data order from the repeat's seed: JAX and
    PyTorch draw the shuffle from NumPy's and torch's global generators when
    the epoch starts, which whatever ran in the process before (a model
    trained earlier) has moved. TensorFlow's order is fixed when `fit`
    makes its dataset, and no seed set here changes it."""

    def __init__(self, seed):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        keras.utils.set_random_seed(self.seed + epoch)
