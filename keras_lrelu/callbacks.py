"""Callbacks that show dying units and learned slopes during training."""

import collections

import keras
import numpy as np
from numpy.typing import ArrayLike

from keras_lrelu import _compat as compat
from keras_lrelu.convert import get_alphas
from keras_lrelu.convert import is_rectifier
from keras_lrelu.convert import relu_inside


class DeadUnitMonitor(keras.callbacks.Callback):
    """Counts units that no probe input switches on, at every epoch end.

    A unit (a feature along the last axis) is inactive when the input of its
    rectifier is <= 0 for every probe sample and position: dead for ReLU,
    which then passes it no gradient, and inactive-but-alive for leaky
    rectifiers. Covers keras_lrelu's layers, `ReLU`, `LeakyReLU`, `PReLU`,
    `Activation("relu")` and layers that apply `activation="relu"` to their
    output (which is 0 exactly where their pre-activation is <= 0), in the
    model and in the models nested inside it (a pretrained base, say), whose
    layers are named `<nested model>/<layer>`. A layer called several times
    counts a unit inactive only if no call switches it on.

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

    def __init__(
        self, probe_inputs: ArrayLike, key: str = "inactive_fraction", batch_size: int = 256
    ) -> None:
        super().__init__()
        self.probe_inputs = probe_inputs
        self.key = key
        self.batch_size = batch_size
        self._probe = None

    def set_model(self, model):
        if model is not getattr(self, "_model", None):
            self._probe = None  # built for this model on first use
        super().set_model(model)

    def inactive_counts(self):
        """`{layer name: (inactive units, units)}` on the probe inputs."""
        if self._probe is None:
            self._probe = _Probe(self.model)
        active = {}
        self._probe.run(self.probe_inputs, self.batch_size, active)
        return {name: (int((~on).sum()), on.size) for name, on in active.items()}

    def inactive_fractions(self):
        """`{layer name: fraction of its units inactive}` on the probe inputs."""
        return {name: dead / units for name, (dead, units) in self.inactive_counts().items()}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        counts = self.inactive_counts()
        if not counts:
            return
        dead = sum(d for d, _ in counts.values())
        units = sum(u for _, u in counts.values())
        logs[self.key] = float(dead / units)
        for name, (d, u) in counts.items():
            logs[f"{self.key}/{name}"] = float(d / u)


class _Probe:
    """A model from `model`'s inputs to every watched rectifier tensor, and
    to the inputs of every call of a nested model, which gets a probe of its
    own fed with those values."""

    def __init__(self, model, prefix=""):
        self.parts, tensors = [], []  # part: (name, "input"|"output") or (_Probe, n)
        for layer in model.layers:
            nested = _Probe(layer, f"{prefix}{layer.name}/") if isinstance(layer, keras.Model) else None
            for inputs, outputs in compat.calls(model, layer):
                if nested is not None:
                    self.parts.append((nested, len(inputs)))
                    tensors.extend(inputs)
                elif relu_inside(layer):
                    self.parts.append((prefix + layer.name, "output"))
                    tensors.append(outputs[0])
                elif is_rectifier(layer):
                    self.parts.append((prefix + layer.name, "input"))
                    tensors.append(inputs[0])
        # A lone input as a tensor, not a list of one: called with an array,
        # Keras warns that the structures differ.
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self.model = keras.Model(inputs, tensors) if tensors else None

    def run(self, inputs, batch_size, active):
        """Ors into `active[name]` the units that `inputs` switch on."""
        if self.model is None:
            return
        values = _outputs(self.model, inputs, batch_size)
        for part, kind in self.parts:
            if isinstance(part, _Probe):
                taken, values = values[:kind], values[kind:]
                part.run(taken if kind > 1 else taken[0], batch_size, active)
                continue
            value = np.asarray(values.pop(0))
            value = value.reshape(-1, value.shape[-1])
            on = (value != 0 if kind == "output" else value > 0).any(axis=0)
            active[part] = active[part] | on if part in active else on


def _outputs(model, inputs, batch_size):
    """`model`'s outputs on `inputs`, as a list of arrays. An array is run
    through the model in batches directly: `predict` makes a new traced
    function for every probe, and TensorFlow warns about retracing when a
    search builds model after model. Anything else goes to `predict`."""
    if isinstance(inputs, np.ndarray) or keras.ops.is_tensor(inputs):
        batches = [
            [
                keras.ops.convert_to_numpy(v)
                for v in keras.tree.flatten(model(inputs[i : i + batch_size], training=False))
            ]
            for i in range(0, len(inputs), batch_size)
        ]
        return [np.concatenate(parts) for parts in zip(*batches)]
    return keras.tree.flatten(model.predict(inputs, batch_size=batch_size, verbose=0))


class AlphaHistory(keras.callbacks.Callback):
    """Adds every learned slope to the epoch logs, as `alpha/<layer name>`,
    and their mean over the model as `alpha`.

    Per-channel slopes are logged as their mean (and count one per channel
    in the model's mean); the full vectors, epoch by epoch, stay in
    `self.history[layer name]` for plotting. A model without learned slopes
    logs nothing.

    Args:
        key: String. The log key of the model's mean; per layer it is
            `<key>/<layer name>`. Defaults to `"alpha"`.
    """

    def __init__(self, key: str = "alpha") -> None:
        super().__init__()
        self.key = key
        self.history = collections.defaultdict(list)

    def on_epoch_end(self, epoch, logs=None):
        alphas = get_alphas(self.model)
        for name, value in alphas.items():
            self.history[name].append(np.array(value))
        if logs is None or not alphas:
            return
        for name, value in alphas.items():
            logs[f"{self.key}/{name}"] = float(np.mean(value))
        every = np.concatenate([np.ravel(value) for value in alphas.values()])
        logs[self.key] = float(np.mean(every))
