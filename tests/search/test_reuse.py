"""A configuration's repeats share one built and traced model
(tuning/search/reuse.py): repeat j trained on the kept model must be bit for
bit the repeat j a fresh build trains, on every backend (tools/test_lanes.py
runs this file on TensorFlow, JAX and PyTorch)."""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tuning.search.hypermodel import LeakyCNN


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (640, 8, 8, 1)).astype("float32")
    y = (x.reshape(640, -1).mean(axis=1) > 127.5).astype("int64")
    return x[:512], y[:512], x[512:], y[512:]


def _hyperparameters(hypermodel, mode):
    hp = kt.HyperParameters()
    hypermodel._choose(hp)
    hp.values.update(mode=mode, alpha=0.2)
    return hp


def _train(hypermodel, hp, repeat, data):
    """One repeat as KerasTuner runs it: clear the session, build, fit."""
    x, y, x_val, y_val = data
    keras.backend.clear_session()
    hypermodel.repeat = repeat
    model = hypermodel.build(hp)
    metrics = hypermodel.fit(
        hp, model, x, y, validation_data=(x_val, y_val), epochs=2, batch_size=128, verbose=0
    )
    values = [np.array(keras.ops.convert_to_numpy(v)) for v in [*model.variables, *model.optimizer.variables]]
    return model, values, {k: v for k, v in metrics.items() if k != "seconds"}


@pytest.mark.parametrize("mode", ["randomized", "channelwise"])
def test_a_repeat_on_the_kept_model_trains_as_a_fresh_build(mode):
    data = _data()
    fresh = LeakyCNN((8, 8, 1), 2, modes=[mode], grid=True, reuse=False)
    _, expected, expected_metrics = _train(fresh, _hyperparameters(fresh, mode), 1, data)

    reusing = LeakyCNN((8, 8, 1), 2, modes=[mode], grid=True)
    hp = _hyperparameters(reusing, mode)
    first, _, _ = _train(reusing, hp, 0, data)
    again, values, metrics = _train(reusing, hp, 1, data)

    assert again is first  # the traced model, not a new one
    assert len(values) == len(expected)
    for got, want in zip(values, expected):
        np.testing.assert_array_equal(got, want)
    assert metrics == expected_metrics


def test_another_configuration_gets_its_own_model():
    data = _data()
    hypermodel = LeakyCNN((8, 8, 1), 2, modes=["fixed", "relu"], grid=True)
    fixed, _, _ = _train(hypermodel, _hyperparameters(hypermodel, "fixed"), 0, data)
    relu, _, _ = _train(hypermodel, _hyperparameters(hypermodel, "relu"), 0, data)
    assert relu is not fixed
    again, _, _ = _train(hypermodel, _hyperparameters(hypermodel, "fixed"), 1, data)
    assert again is fixed
