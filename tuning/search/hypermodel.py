"""The HyperModel: a small CNN with a searchable rectifier after every layer."""

import functools
import math
import time

import keras
import keras_tuner as kt
import numpy as np

import keras_lrelu
from keras_lrelu import _compat as compat
from tuning.names import MODES
from tuning.search import records
from tuning.search.reuse import EpochDataOrder
from tuning.search.reuse import ReusedModels

# RReLU's range keeps the 8:3 ratio of Xu et al.'s U(1/8, 1/3) around a mean
# of alpha, so alpha = 0.2292 gives exactly PyTorch's default range.
RRELU_LOWER, RRELU_UPPER = 6 / 11, 16 / 11
# Validation images run through each model at every epoch end to count
# units that no input switches on.
PROBE_SIZE = 256


def make_activation(mode, alpha, seed=None, name=None):
    """The rectifier layer for a search mode (named `name`, if given);
    `alpha` is unused for relu."""
    if mode == "relu":
        return keras.layers.ReLU(name=name)
    if mode == "fixed":
        return keras_lrelu.LeakyReLU(alpha=alpha, name=name)
    if mode in ("trainable", "channelwise"):
        return keras_lrelu.LeakyReLU(
            alpha=alpha,
            trainable_alpha=True,
            channelwise=mode == "channelwise",
            alpha_bounds=(0.0, max(1.0, alpha)),
            name=name,
        )
    if mode == "randomized":
        return keras_lrelu.RandomizedLeakyReLU(
            lower=alpha * RRELU_LOWER, upper=alpha * RRELU_UPPER, seed=seed, name=name
        )
    raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")


class RectifierHyperModel(kt.HyperModel):
    """What every searched network shares: the `mode` and `alpha`
    hyperparameters (alpha log-uniform in `[alpha_min, alpha_max]`, active
    unless the mode is relu; the initial slope for learned modes; with
    `grid`, five log-spaced values), the repeats' seeds, the kept models and
    the training with its diagnostics. A subclass makes the network in
    `network(mode, alpha, ...)` and may declare more hyperparameters in `_choose`.

    `repeat` (set by the tuner before each run) picks the seed of the
    weights, the data order and the layers' draws: the same for every
    configuration, so repeat j of two configurations differ only in them.
    A configuration's repeats train one kept model, set to each repeat's
    fresh build (tuning/search/reuse.py), unless `reuse` is False.
    """

    notes = ()  # lines the search prints once about its network

    def __init__(self, modes=MODES, alpha_min=0.001, alpha_max=0.5, seed=0, grid=False, reuse=True, **kwargs):
        super().__init__(**kwargs)
        self.modes = list(modes)
        self.alpha_min, self.alpha_max = alpha_min, alpha_max
        self.seed = seed
        self.grid = grid
        self.repeat = 0
        self.reused = ReusedModels() if reuse else None
        self._monitors = {}  # id(model) -> its DeadUnitMonitor, whose probe is built once

    @property
    def run_seed(self):
        """The seed of the current repeat (`seed` itself for the first)."""
        return records.seed_for(self.seed, self.repeat)

    def build(self, hp):
        # Every configuration's repeat j starts from the same weights.
        keras.utils.set_random_seed(self.run_seed)
        model = self.network(**self._choose(hp))
        if self.reused is None:
            return model
        return self.reused.take(tuple(sorted((k, repr(v)) for k, v in hp.values.items())), model)

    def network(self, mode, alpha):
        """The compiled network with the rectifier `mode` at slope `alpha`."""
        raise NotImplementedError

    def describe(self):
        """What the model card says of the network the search trains."""
        raise NotImplementedError

    def _choose(self, hp):
        """Declares the search space on `hp`; returns this trial's values
        as `network`'s keyword arguments."""
        mode = hp.Choice("mode", self.modes, default=self.modes[0])
        alpha = 0.0
        leaky_modes = [m for m in self.modes if m != "relu"]
        if leaky_modes:
            with hp.conditional_scope("mode", leaky_modes):
                alpha = hp.Float(
                    "alpha",
                    self.alpha_min,
                    self.alpha_max,
                    sampling="log",
                    # A grid gets five slopes, evenly spaced on a log scale.
                    step=(self.alpha_max / self.alpha_min) ** 0.25 if self.grid else None,
                    default=min(max(0.01, self.alpha_min), self.alpha_max),
                )
            alpha = 0.0 if mode == "relu" else alpha
        return {"mode": mode, "alpha": alpha}

    def outside_space(self, values):
        """The `name=value` pairs of a trial's hyperparameter `values` that
        this search space does not hold, as one string ("" if none): a
        client of the chief may report any values for a trial."""
        wrong = [
            f"{name}={value!r}"
            for name, value in values.items()
            if not name.startswith("tuner/") and not _holds(self._declared_space.get(name), value)
        ]
        return ", ".join(wrong)

    @functools.cached_property
    def _declared_space(self):
        """`{name: config}` of every hyperparameter `_choose` declares, made
        once: results.write checks every trial after every trial."""
        space = kt.HyperParameters()
        self._choose(space)
        return {hp.name: hp.get_config() for hp in space.space}

    def fit(self, hp, model, x, y, callbacks=(), **kwargs):
        """Trains; returns the metrics of the best epoch plus `seconds`,
        `learned_alpha` (the mean learned slope at that epoch) and
        `inactive_fraction` (units no validation probe switches on).

        Raises:
            keras_tuner.errors.FailedTrialError: if the loss turns NaN or
                infinite, so the trial is recorded as FAILED and the search
                goes on.
        """
        # Before KerasTuner's callbacks, so that they see the new log keys.
        diagnostics = [keras_lrelu.AlphaHistory(key="learned_alpha")]
        validation = kwargs.get("validation_data")
        if validation is not None:
            diagnostics.append(self._monitor(model, validation[0][:PROBE_SIZE]))
        callbacks = [
            EpochDataOrder(self.run_seed),
            *diagnostics,
            *callbacks,
            keras.callbacks.TerminateOnNaN(),
        ]
        # The data order of repeat j, whatever ran in this process before.
        keras.utils.set_random_seed(self.run_seed)
        compat.build_metrics(model, x, y)  # TensorFlow then traces each step once, not twice
        start = time.perf_counter()
        history = model.fit(x, y, callbacks=callbacks, **kwargs).history
        seconds = time.perf_counter() - start
        losses = np.asarray(history["loss"], dtype=float)
        if not np.isfinite(losses).all():
            raise kt.errors.FailedTrialError(f"training loss became {losses[-1]} in epoch {len(losses)}")
        best = int(np.nanargmax(history["val_accuracy"]))
        # Per-layer diagnostics ("inactive_fraction/conv2d") stay in TensorBoard.
        metrics = {name: float(v[best]) for name, v in history.items() if "/" not in name}
        metrics["seconds"] = seconds
        return metrics

    def _monitor(self, model, probe_inputs):
        """The model's DeadUnitMonitor: one per kept model, so its probe is built once."""
        if self.reused is None:
            return keras_lrelu.DeadUnitMonitor(probe_inputs)
        kept = {id(m) for m in self.reused.models()}
        self._monitors = {key: m for key, m in self._monitors.items() if key in kept}
        monitor = self._monitors.setdefault(id(model), keras_lrelu.DeadUnitMonitor(probe_inputs))
        monitor.probe_inputs = probe_inputs  # the same images, sliced anew by each fit
        return monitor


class LeakyCNN(RectifierHyperModel):
    """Two conv blocks and a dense layer, each followed by the searched rectifier.

    Hyperparameters besides `mode` and `alpha` (all with defaults):
    `filters` and `learning_rate`; with `grid` they stay at their defaults,
    so a grid search covers modes and slopes. Raw pixels are rescaled inside
    the model, so an exported model takes images as stored.
    """

    def __init__(self, input_shape, num_classes, pixel_max=255.0, **kwargs):
        super().__init__(**kwargs)
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.pixel_max = pixel_max

    def _choose(self, hp):
        chosen = super()._choose(hp)
        if self.grid:
            # A grid over width and learning rate too would spend the whole
            # budget before reaching a second slope.
            return dict(
                chosen, filters=hp.Fixed("filters", 32), learning_rate=hp.Fixed("learning_rate", 1e-3)
            )
        filters = hp.Choice("filters", [16, 32, 48], default=32)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        return dict(chosen, filters=filters, learning_rate=learning_rate)

    def network(self, mode, alpha, filters=32, learning_rate=1e-3):
        return self.build_network(
            lambda seed: make_activation(mode, alpha, seed=seed),
            filters,
            learning_rate,
            name=f"leaky_cnn_{mode}",
        )

    def describe(self):
        return {"source": "the suite's CNN (tuning/search/hypermodel.py LeakyCNN)"}

    def build_network(self, activation, filters=32, learning_rate=1e-3, name="leaky_cnn"):
        """The compiled CNN with `activation(seed)` making each rectifier;
        the comparison study builds its rivals (ELU among them) with it."""
        inputs = keras.Input(self.input_shape)
        x = keras.layers.Rescaling(1.0 / self.pixel_max)(inputs)
        size = min(self.input_shape[:2])
        for block in range(2):
            x = keras.layers.Conv2D(filters * 2**block, 3, padding="same")(x)
            x = activation(self.run_seed + block)(x)
            if size >= 4:
                x = keras.layers.MaxPooling2D()(x)
                size //= 2
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(4 * filters)(x)
        x = activation(self.run_seed + 2)(x)
        x = keras.layers.Dropout(0.25, seed=self.run_seed)(x)
        outputs = keras.layers.Dense(self.num_classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs, name=name)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        # Built now rather than in fit: a checkpoint holds Adam's state too, and
        # Hyperband loads its parent trial's before fit, where an unbuilt Adam
        # would drop it with a warning and start its moments over.
        model.optimizer.build(model.trainable_variables)
        return model


def _holds(config, value):
    """Whether a hyperparameter (its `get_config()`; None if undeclared)
    admits `value`: a listed choice, the fixed value, or a finite number
    within the declared range."""
    if config is None:
        return False
    if "values" in config:  # Choice
        return any(type(value) is type(choice) and value == choice for choice in config["values"])
    if "value" in config:  # Fixed
        return type(value) is type(config["value"]) and value == config["value"]
    if "min_value" in config:  # Int, Float
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        # KerasTuner's log-spaced grid steps may land a rounding error past the bounds.
        low, high = config["min_value"], config["max_value"]
        slack = 1e-9 * max(abs(low), abs(high))
        return number and math.isfinite(value) and low - slack <= value <= high + slack
    return isinstance(value, bool)  # Boolean


def hyperparameter_text(values):
    """`mode=fixed alpha=0.0123 ...` for a trial's hyperparameters."""
    first = [k for k in ("mode", "alpha") if k in values]
    rest = sorted(k for k in values if k not in first and not k.startswith("tuner/"))
    shown = {k: values[k] for k in first + rest}
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
