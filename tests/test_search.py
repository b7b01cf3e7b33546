"""The HyperModel, the four tuners and the results table, in process on digits."""

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest

import keras_lrelu
from tuning import data
from tuning import results
from tuning import search
from tuning.hypermodel import PROBE_SIZE
from tuning.hypermodel import LeakyCNN
from tuning.hypermodel import make_activation


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def _hypermodel(dataset, **kwargs):
    return LeakyCNN(dataset.input_shape, dataset.num_classes, dataset.pixel_max, **kwargs)


@pytest.mark.parametrize("tuner_name", search.TUNER_NAMES)
def test_every_tuner_searches_and_writes_its_table(tuner_name, digits, tmp_path, capsys):
    hypermodel = _hypermodel(digits, modes=["channelwise", "relu"], grid=tuner_name == "grid")
    tuner = search.make_tuner(tuner_name, hypermodel, 2, 2, 0, str(tmp_path), "p", command="cmd")
    search.run(tuner, digits, epochs=2, batch_size=64)
    assert "trial 1/2  mode=" in capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "p" / "results.csv", dtype={"trial_id": str})
    assert set(results.COLUMNS) <= set(frame.columns)
    assert len(frame) == 2 and (frame["status"] == "COMPLETED").all()
    assert (frame["command"] == "cmd").all()
    for row in frame.itertuples():  # the table holds each trial's best epoch
        trial = tuner.oracle.trials[row.trial_id]
        assert row.val_accuracy == pytest.approx(trial.metrics.get_best_value("val_accuracy"))
    learned = frame[frame["mode"] == "channelwise"]
    assert learned["learned_alpha"].notna().all()
    # The best trial's inactive fraction, recounted on its restored model.
    best = tuner.oracle.get_best_trials(1)[0]
    monitor = keras_lrelu.DeadUnitMonitor(digits.x_val[:PROBE_SIZE])
    monitor.set_model(tuner.load_model(best))
    dead, units = np.sum(list(monitor.inactive_counts().values()), axis=0)
    row = frame.set_index("trial_id").loc[best.trial_id]
    assert row["inactive_fraction"] == pytest.approx(dead / units)
    assert (frame.loc[frame["mode"] == "relu", "alpha"] == 0).all()
    assert (tmp_path / "p" / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert list((tmp_path / "p" / "tensorboard").iterdir()), "a TensorBoard log per trial"


class ExplodingCNN(LeakyCNN):
    """Fixed-slope trials train with a learning rate that makes the loss NaN."""

    def build(self, hp):
        model = super().build(hp)
        if hp.get("mode") == "fixed":
            model.compile(keras.optimizers.SGD(1e30), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


def test_a_nan_trial_is_recorded_failed_and_the_search_goes_on(digits, tmp_path):
    hypermodel = ExplodingCNN(
        digits.input_shape, digits.num_classes, digits.pixel_max, modes=["fixed", "relu"], grid=True
    )
    tuner = search.make_tuner("grid", hypermodel, 7, 1, 0, str(tmp_path), "p", quiet=True)
    tuner.oracle.max_consecutive_failed_trials = 10
    search.run(tuner, digits, epochs=1, batch_size=64, quiet=True)
    frame = pd.read_csv(tmp_path / "p" / "results.csv")
    failed = frame[frame["status"] == "FAILED"]
    assert set(failed["mode"]) == {"fixed"} and len(failed) == 6
    assert failed["message"].str.contains("training loss became nan in epoch 1").all()
    assert frame.loc[frame["mode"] == "relu", "status"].tolist() == ["COMPLETED"]


def test_activations_per_mode():
    assert isinstance(make_activation("relu", 0.0), keras.layers.ReLU)
    fixed = make_activation("fixed", 0.2)
    assert isinstance(fixed, keras_lrelu.LeakyReLU) and not fixed.trainable_alpha
    per_channel = make_activation("channelwise", 0.2)
    assert per_channel.trainable_alpha and per_channel.channelwise
    randomized = make_activation("randomized", 0.2292, seed=1)
    # The mean slope is alpha; alpha = 0.2292 is PyTorch's U(1/8, 1/3).
    assert randomized.mean_alpha == pytest.approx(0.2292)
    assert (randomized.lower, randomized.upper) == pytest.approx((1 / 8, 1 / 3), abs=1e-4)


def test_relu_mode_has_no_active_alpha(digits):
    hp = kt.HyperParameters()
    hp.Fixed("mode", "relu")
    model = _hypermodel(digits).build(hp)
    assert not hp.is_active("alpha")
    assert not any(isinstance(layer, keras_lrelu.LeakyReLU) for layer in model.layers)


def test_same_hyperparameters_start_from_the_same_weights(digits):
    hypermodel = _hypermodel(digits)
    first = hypermodel.build(kt.HyperParameters()).get_weights()
    again = hypermodel.build(kt.HyperParameters()).get_weights()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_same_command_gives_the_same_table(digits, tmp_path):
    tables = []
    for run in ("first", "again"):
        hypermodel = _hypermodel(digits, modes=["fixed", "channelwise", "randomized"])
        tuner = search.make_tuner("random", hypermodel, 3, 1, 0, str(tmp_path / run), "p", quiet=True)
        search.run(tuner, digits, epochs=1, batch_size=64, quiet=True)
        tables.append(pd.read_csv(tmp_path / run / "p" / "results.csv").drop(columns=["seconds"]))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_a_resumed_grid_search_goes_on_as_if_never_stopped(digits, tmp_path):
    def grid(directory, max_trials, overwrite):
        hypermodel = _hypermodel(digits, modes=["relu", "fixed"], grid=True)
        tuner = search.make_tuner("grid", hypermodel, max_trials, 1, 0, str(directory), "p",
                                  overwrite=overwrite, quiet=True)
        search.run(tuner, digits, epochs=1, batch_size=256, quiet=True)
        trials = tuner.oracle.trials
        return [trials[trial_id].hyperparameters.values for trial_id in sorted(trials)]

    whole = grid(tmp_path / "whole", 4, overwrite=True)
    grid(tmp_path / "resumed", 2, overwrite=True)
    resumed = grid(tmp_path / "resumed", 4, overwrite=False)  # KerasTuner alone: 2 trials
    assert len(whole) == 4 and resumed == whole
