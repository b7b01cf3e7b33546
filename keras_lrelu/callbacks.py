"""Callbacks that show dying units and learned slopes during training."""

import collections

import keras
import numpy as np

from keras_lrelu.convert import get_alphas
from keras_lrelu.convert import is_rectifier
from keras_lrelu.convert import relu_inside


class DeadUnitMonitor(keras.callbacks.Callback):
    """Counts units that no probe input switches on, at every epoch end.

    A unit (a feature along the last axis) is inactive when the input of its
    rectifier is <= 0 for every probe sample and position: dead for ReLU,
    which then passes it no gradient, and inactive-but-alive for leaky
    rectifiers. Covers keras_lrelu's layers, `ReLU`, `LeakyReLU`, `PReLU`,
    `Activation("relu")` and layers built with `activation="relu"` (whose
    output is 0 exactly where their pre-activation is <= 0), among the
    model's own layers.

    Example:

    ```python
    monitor = DeadUnitMonitor(x_val[:256])
    history = model.fit(x, y, epochs=5, callbacks=[monitor])
    history.history["inactive_fraction"]        # whole model, per epoch
    history.history["inactive_fraction/dense"]  # one layer
    ```

    Args:
        probe_inputs: Array (or what `model.predict` takes) run through the
            model at each epoch end.
        key: String. The log key of the overall fraction; per layer it is
            `<key>/<layer name>`. Defaults to `"inactive_fraction"`.
        batch_size: Int. Batch size for the probe. Defaults to 256.
    """

    def __init__(self, probe_inputs, key="inactive_fraction", batch_size=256):
        super().__init__()
        self.probe_inputs = probe_inputs
        self.key = key
        self.batch_size = batch_size
        self._probe = None
        self._layers = None

    def _build_probe(self):
        watched, tensors = [], []
        for layer in self.model.layers:
            if relu_inside(layer):
                watched.append((layer, "output"))
                tensors.append(layer.output)
            elif is_rectifier(layer):
                watched.append((layer, "input"))
                tensors.append(layer.input)
        self._layers = watched
        self._probe = keras.Model(self.model.inputs, tensors) if tensors else None

    def inactive_fractions(self):
        """`{layer name: fraction of inactive units}` on the probe inputs."""
        if self._probe is None and self._layers is None:
            self._build_probe()
        if self._probe is None:
            return {}
        values = self._probe.predict(self.probe_inputs, batch_size=self.batch_size, verbose=0)
        if not isinstance(values, (list, tuple)):
            values = [values]
        fractions = {}
        for (layer, where), value in zip(self._layers, values):
            value = np.asarray(value).reshape(-1, value.shape[-1])
            off = value == 0 if where == "output" else value <= 0
            fractions[layer.name] = (off.all(axis=0).sum(), value.shape[-1])
        return fractions

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        counts = self.inactive_fractions()
        if not counts:
            return
        dead = sum(d for d, _ in counts.values())
        units = sum(u for _, u in counts.values())
        logs[self.key] = float(dead / units)
        for name, (d, u) in counts.items():
            logs[f"{self.key}/{name}"] = float(d / u)


class AlphaHistory(keras.callbacks.Callback):
    """Adds every learned slope to the epoch logs, as `alpha/<layer name>`.

    Per-channel slopes are logged as their mean; the full vectors, epoch by
    epoch, stay in `self.history[layer name]` for plotting.
    """

    def __init__(self):
        super().__init__()
        self.history = collections.defaultdict(list)

    def on_epoch_end(self, epoch, logs=None):
        for name, value in get_alphas(self.model).items():
            self.history[name].append(np.array(value))
            if logs is not None:
                logs[f"alpha/{name}"] = float(np.mean(value))
