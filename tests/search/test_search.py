"""The HyperModel, the four tuners and the results table, in process on digits."""

import json
import warnings

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest

import keras_lrelu
from tuning import data
from tuning import verdict
from tuning.export import best_models
from tuning.search import confirmation
from tuning.search import records
from tuning.search import reporting
from tuning.search import results
from tuning.search import tuners
from tuning.search.hypermodel import PROBE_SIZE
from tuning.search.hypermodel import LeakyCNN
from tuning.search.hypermodel import make_activation
from tuning.settings import SearchSettings
from tuning.verdict import stats


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def _settings(directory, **options):
    """A quiet one-epoch grid search's settings in `directory`, project "p"."""
    return SearchSettings(
        **{
            "tuner": "grid",
            "epochs": 1,
            "quiet": True,
            "directory": str(directory),
            "project": "p",
            **options,
        }
    )


def _hypermodel(dataset, **kwargs):
    return LeakyCNN(dataset.input_shape, dataset.num_classes, dataset.pixel_max, **kwargs)


@pytest.mark.parametrize("tuner_name", tuners.TUNER_NAMES)
def test_every_tuner_searches_with_repeats_and_writes_its_table(
    tuner_name, digits, tmp_path, capsys, monkeypatch
):
    # results.png is drawn when due: after every trial once PLOT_SECONDS have passed (0 here,
    # for the random search), else after the last trial alone.
    monkeypatch.setattr(reporting, "PLOT_SECONDS", 0 if tuner_name == "random" else 3600)
    drawn = []
    plot = results.plot_results
    monkeypatch.setattr(results, "plot_results", lambda *paths: drawn.append(paths) or plot(*paths))
    hypermodel = _hypermodel(digits, modes=["channelwise", "relu"], grid=tuner_name == "grid")
    tuner = tuners.make_tuner(
        SearchSettings(
            tuner=tuner_name,
            max_trials=2,
            epochs=1,
            directory=str(tmp_path),
            project="p",
            command="cmd",
            repeats=2,
            prune="median",
        ),
        hypermodel,
    )
    tuners.run_trials(tuner, digits)
    assert "trial 1/2  mode=" in capsys.readouterr().out
    assert len(drawn) == (2 if tuner_name == "random" else 1)
    frame = pd.read_csv(tmp_path / "p" / "results.csv", dtype={"trial_id": str})
    assert set(results.COLUMNS) <= set(frame.columns)
    assert len(frame) == 2 and (frame["status"] == "COMPLETED").all() and (frame["repeats"] == 2).all()
    assert (frame["command"] == "cmd").all()
    for row in frame.itertuples():  # the table holds the mean of each repeat's best epoch
        trial = tuner.oracle.trials[row.trial_id]
        record = records.load(tuner.project_dir, row.trial_id)
        best_epochs = [max(run["curve"].values()) for run in records.ordered(record)]
        assert [row.val_accuracy_1, row.val_accuracy_2] == pytest.approx(best_epochs)
        assert row.val_accuracy == pytest.approx(np.mean(best_epochs))
        assert trial.metrics.get_last_value("val_accuracy") == pytest.approx(row.val_accuracy)
        assert [run["seed"] for run in records.ordered(record)] == [0, records.SEED_STRIDE]
    learned = frame[frame["mode"] == "channelwise"]
    assert learned["learned_alpha"].notna().all()
    # The checkpoint is the best repeat's best epoch: its inactive fraction, recounted.
    best = tuner.oracle.get_best_trials(1)[0]
    record = records.load(tuner.project_dir, best.trial_id)
    exported = record["repeats"][str(records.best_repeat(record))]["metrics"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = tuner.load_model(best)
    # The checkpoint's Adam state loads too (as Hyperband's continued trials need), unwarned.
    assert not [w.message for w in caught if "Skipping variable loading" in str(w.message)]
    _, accuracy = model.evaluate(digits.x_val, digits.y_val, verbose=0)
    assert accuracy == pytest.approx(exported["val_accuracy"], abs=1e-6)
    monitor = keras_lrelu.DeadUnitMonitor(digits.x_val[:PROBE_SIZE])
    monitor.set_model(model)
    dead, units = np.sum(list(monitor.inactive_counts().values()), axis=0)
    assert exported["inactive_fraction"] == pytest.approx(dead / units)
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
    tuner = tuners.make_tuner(_settings(tmp_path, max_trials=7), hypermodel)
    tuner.oracle.max_consecutive_failed_trials = 10
    tuners.run_trials(tuner, digits)
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
        tuner = tuners.make_tuner(_settings(tmp_path / run, tuner="random", max_trials=3), hypermodel)
        tuners.run_trials(tuner, digits)
        tables.append(pd.read_csv(tmp_path / run / "p" / "results.csv").drop(columns=["seconds"]))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_a_resumed_grid_search_goes_on_as_if_never_stopped(digits, tmp_path):
    def grid(directory, max_trials, overwrite):
        hypermodel = _hypermodel(digits, modes=["relu", "fixed"], grid=True)
        tuner = tuners.make_tuner(
            _settings(directory, max_trials=max_trials, overwrite=overwrite, batch_size=256), hypermodel
        )
        tuners.run_trials(tuner, digits)
        trials = tuner.oracle.trials
        return [trials[trial_id].hyperparameters.values for trial_id in sorted(trials)]

    whole = grid(tmp_path / "whole", 4, overwrite=True)
    grid(tmp_path / "resumed", 2, overwrite=True)
    resumed = grid(tmp_path / "resumed", 4, overwrite=False)  # KerasTuner alone: 2 trials
    assert len(whole) == 4 and resumed == whole


class FrozenCNN(LeakyCNN):
    """Trials from the grid's fourth slope on (0.0224) cannot learn
    (learning rate 0): clearly bad."""

    def build(self, hp):
        model = super().build(hp)
        if hp.get("alpha") > 0.02:
            model.compile(keras.optimizers.Adam(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


def test_median_pruning_stops_a_clearly_bad_configuration_which_is_never_exported(digits, tmp_path):
    hypermodel = FrozenCNN(
        digits.input_shape, digits.num_classes, digits.pixel_max, modes=["channelwise"], grid=True
    )
    tuner = tuners.make_tuner(
        _settings(tmp_path, max_trials=4, epochs=3, repeats=2, prune="median"), hypermodel
    )
    tuners.run_trials(tuner, digits)
    frame, found = tuner.write_results()
    assert frame["alpha"].tolist() == pytest.approx([0.01, 0.001, 0.004729, 0.02236], abs=1e-5)
    assert frame["status"].tolist() == ["COMPLETED"] * 3 + ["PRUNED"]
    # Finished configurations ran every repeat to its last epoch, none pruned.
    for trial_id in frame["trial_id"][:3]:
        record = records.load(tuner.project_dir, trial_id)
        assert records.is_finished(record)
        assert [len(run["curve"]) for run in records.ordered(record)] == [3, 3]
    # The frozen one: stopped after epoch 2 of its first repeat, the second never ran.
    pruned = records.load(tuner.project_dir, frame["trial_id"].iloc[3])
    assert list(pruned["repeats"]) == ["0"] and len(pruned["repeats"]["0"]["curve"]) == 2
    assert frame["message"].iloc[3].startswith("pruned in repeat 1, epoch 2: mean val_accuracy ")
    assert frame["repeats"].tolist() == [2, 2, 2, 1]
    assert found["configurations"] == 3 and "0.0224" not in found["text"]
    assert (tmp_path / "p" / results.VERDICT_NAME).exists()
    summary = results.ranked_text(frame).splitlines()
    assert summary[-1].split()[:2] == [frame["trial_id"].iloc[3], "PRUNED"], "pruned rows last"
    # The export: the best finished configuration's best repeat, with its statistics.
    (folder,) = best_models.export_best(
        tuner, digits, str(tmp_path / "export"), frame, found, format_names=()
    )
    card = json.loads((tmp_path / "export" / "best" / "model_card.json").read_text())
    best_row = results.ranked(frame).iloc[0]
    assert card["trial_id"] == best_row["trial_id"] == found["best"]["trial_id"]
    configuration = card["configuration"]
    per_repeat = [best_row["val_accuracy_1"], best_row["val_accuracy_2"]]
    assert configuration["val_accuracy_per_repeat"] == pytest.approx(per_repeat)
    assert configuration["val_accuracy_mean"] == pytest.approx(np.mean(per_repeat))
    assert configuration["val_accuracy_ci95"] == pytest.approx(
        [best_row["val_accuracy_low"], best_row["val_accuracy_high"]]
    )
    assert configuration["exported_repeat"] == int(np.argmax(per_repeat)) + 1
    assert card["metrics"]["val_accuracy_selected"] == pytest.approx(max(per_repeat))
    assert list(card)[:2] == ["test_accuracy", "description"]  # the card leads with the unbiased number
    model = keras.models.load_model(tmp_path / "export" / "best" / "model.keras")
    _, val_accuracy = model.evaluate(digits.x_val, digits.y_val, verbose=0)
    _, test_accuracy = model.evaluate(digits.x_test, digits.y_test, verbose=0)
    assert val_accuracy == pytest.approx(max(per_repeat), abs=1e-6), "the best repeat's best epoch"
    assert card["metrics"]["test_accuracy"] == pytest.approx(test_accuracy, abs=1e-6)
    held_out = card["test_accuracy"]
    assert held_out["images"] == len(digits.y_test) and held_out["value"] == pytest.approx(
        test_accuracy, abs=1e-6
    )
    assert held_out["ci95_wilson"] == pytest.approx(
        list(stats.wilson(held_out["correct"], held_out["images"]))
    )
    assert held_out["ci95_wilson"][0] < held_out["value"] < held_out["ci95_wilson"][1]
    assert card["verdict"]["text"] == found["text"]


def test_confirmation_retrains_the_best_leaky_and_relu_from_unused_seeds(digits, tmp_path, monkeypatch):
    hypermodel = _hypermodel(digits, modes=["relu", "fixed"], grid=True)
    tuner = tuners.make_tuner(_settings(tmp_path, max_trials=4, repeats=2, confirm=3), hypermodel)
    tuners.run_trials(tuner, digits)
    before, _ = tuner.write_results()
    chosen = verdict.to_confirm(before, 2)
    leaky = before[before["mode"] != "relu"].sort_values("val_accuracy", ascending=False, kind="stable")
    assert chosen == leaky["trial_id"].tolist()[:1] + ["0"]
    confirmation.train_confirmations(tuner, digits)
    for trial_id in before["trial_id"]:
        runs = records.ordered_confirmation(records.load(tuner.project_dir, trial_id))
        expected = [records.seed_for(0, records.CONFIRM_FIRST_REPEAT + j) for j in range(3)]
        assert [run["seed"] for run in runs] == (expected if trial_id in chosen else [])
    frame, found = tuner.write_results()
    columns = verdict.repeat_columns(3, verdict.CONFIRM)
    confirmed = frame.set_index("trial_id").loc[chosen, columns]
    assert (
        confirmed.notna().all().all()
        and frame.set_index("trial_id").drop(index=chosen)[columns].isna().all().all()
    )
    assert found["against_relu"]["on"] == "confirmation" and found["against_relu"]["tests"] == 1
    assert (frame["validation_size"] == len(digits.y_val)).all()
    # A record from before the verdict counted images: the table takes the search's own split.
    old = records.load(tuner.project_dir, "0")
    del old["validation_size"]
    records.save(tuner.project_dir, "0", old)
    assert (tuner.write_results()[0]["validation_size"] == len(digits.y_val)).all()
    # A confirmation repeat trains as a fresh build of its seed does: the recorded number again;
    # and at the seed of search repeat 0 it is that repeat, so both train by one recipe.
    again = tuner.train_run(tuner.oracle.trials[chosen[0]], records.CONFIRM_FIRST_REPEAT + 1, digits)
    assert again["metrics"]["val_accuracy"] == frame.set_index("trial_id").loc[chosen[0], columns[1]]
    first = tuner.train_run(tuner.oracle.trials[chosen[0]], 0, digits)
    assert first["seed"] == 0
    assert first["metrics"]["val_accuracy"] == frame.set_index("trial_id").loc[chosen[0], "val_accuracy_1"]
    # Resumed, it trains nothing it has.
    monkeypatch.setattr(tuner, "train_run", lambda *args: pytest.fail("retrained a recorded confirmation"))
    confirmation.train_confirmations(tuner, digits)
