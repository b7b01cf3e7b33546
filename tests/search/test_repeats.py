"""Repeats with common random numbers, and the median pruning rule, on
records written by hand and on real models."""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tuning import data
from tuning.search import pruners
from tuning.search import records
from tuning.search.callbacks import CurveRecorder
from tuning.search.callbacks import PruningCallback
from tuning.search.hypermodel import LeakyCNN


def _finished(project, trial_id, curves, planned=None):
    """A trial record whose repeats ended with these curves (one per repeat)."""
    record = {
        "planned": planned or len(curves),
        "repeats": {
            str(j): {
                "seed": records.seed_for(0, j),
                "metrics": {"val_accuracy": max(c), "seconds": 1.0},
                "curve": {str(e): v for e, v in enumerate(c, start=1)},
                "pruned": False,
                "message": None,
            }
            for j, c in enumerate(curves)
        },
    }
    (project / f"trial_{trial_id}").mkdir(parents=True, exist_ok=True)
    records.save(str(project), trial_id, record)
    return record


class _Model:
    stop_training = False


class _Monitor:
    """A repeat's two callbacks as the search lists them, the recorder
    before the pruning check, driven as Keras drives them."""

    def __init__(
        self, project_dir, trial_id, repeat, earlier=(), prune=False, last=True, margin_fraction=0.0
    ):
        self.recorder = CurveRecorder()
        pruner = pruners.make("median" if prune else "none", margin_fraction)
        self.pruning = PruningCallback(pruner, self.recorder, project_dir, trial_id, repeat, earlier, last)
        self.model = None

    curve = property(lambda self: self.recorder.curve)
    pruned_message = property(lambda self: self.pruning.pruned_message)

    def set_model(self, model):
        self.model = model
        for callback in (self.recorder, self.pruning):
            callback.set_model(model)

    def set_params(self, params):
        for callback in (self.recorder, self.pruning):
            callback.set_params(params)

    def on_epoch_end(self, epoch, logs):
        for callback in (self.recorder, self.pruning):
            callback.on_epoch_end(epoch, logs)


def _epoch(monitor, epoch, value, epochs=4):
    """Ends 0-based `epoch` of a run of `epochs` epochs with this val_accuracy."""
    if monitor.model is None:
        monitor.set_model(_Model())
        monitor.set_params({"epochs": epochs})
    monitor.on_epoch_end(epoch, {"val_accuracy": value})
    return monitor.model.stop_training


@pytest.fixture
def project(tmp_path):
    """Three finished configurations; at epoch 2, repeat 1 reads 0.6 in each and
    repeat 2 reads 0.80, 0.85 and 0.90 (means over both: 0.70, 0.725, 0.75)."""
    for trial_id, level in [("0", 0.80), ("1", 0.85), ("2", 0.90)]:
        _finished(tmp_path, trial_id, [[0.5, 0.6, 0.7, 0.8], [0.7, level, 0.9, 0.95]])
    return tmp_path


def test_a_first_repeat_below_the_median_is_pruned_after_the_warm_up(project):
    monitor = _Monitor(str(project), "9", repeat=0, prune=True)
    assert not _epoch(monitor, 0, 0.10), "never at the end of the first epoch"
    assert _epoch(monitor, 1, 0.59), "0.59 < median(0.6, 0.6, 0.6)"
    assert monitor.pruned_message == (
        "pruned in repeat 1, epoch 2: mean val_accuracy 0.5900 below the median 0.6000 of 3 finished configurations"
    )
    assert monitor.curve == {"1": 0.10, "2": 0.59}


def test_a_gap_within_the_margin_prunes_nothing(project):
    # One repeat's luck is a validation image or two: pruning waits for a gap beyond the margin.
    within = _Monitor(str(project), "9", repeat=0, prune=True, margin_fraction=0.01)
    _epoch(within, 0, 0.10)
    assert not _epoch(within, 1, 0.591), "0.591 is within 1 point of the median 0.6"
    beyond = _Monitor(str(project), "9", repeat=0, prune=True, margin_fraction=0.01)
    _epoch(beyond, 0, 0.10)
    assert _epoch(beyond, 1, 0.585) and beyond.pruned_message == (
        "pruned in repeat 1, epoch 2: mean val_accuracy 0.5850 below the median 0.6000 of 3 finished "
        "configurations by more than the margin (1 points)"
    )


def test_a_later_repeat_is_judged_by_its_mean_over_the_repeats_so_far(project):
    # Repeat 2 alone (0.71) is below every other repeat 2, but with its repeat 1
    # (0.80) it averages 0.755, above the median mean 0.725: one unlucky repeat
    # does not prune a good configuration.
    lucky = _Monitor(str(project), "9", repeat=1, earlier=[{"2": 0.80}], prune=True)
    _epoch(lucky, 0, 0.5)
    assert not _epoch(lucky, 1, 0.71)
    unlucky = _Monitor(str(project), "9", repeat=1, earlier=[{"2": 0.60}], prune=True)
    _epoch(unlucky, 0, 0.5)
    assert _epoch(unlucky, 1, 0.84), "(0.60 + 0.84) / 2 = 0.72 < 0.725"
    assert unlucky.pruned_message.startswith(
        "pruned in repeat 2, epoch 2: mean val_accuracy over repeats 1-2 0.7200 below the median 0.7250 of 3"
    )


def test_at_or_above_the_median_or_at_the_last_epoch_a_repeat_goes_on(project):
    at_median = _Monitor(str(project), "9", repeat=0, prune=True)
    _epoch(at_median, 0, 0.7)
    assert not _epoch(at_median, 1, 0.6)
    last = _Monitor(str(project), "9", repeat=0, prune=True)
    for epoch, value in enumerate([0.1, 0.9, 0.95, 0.01]):  # finishes, however badly
        assert not _epoch(last, epoch, value)
    assert last.pruned_message is None and len(last.curve) == 4
    # The end of a repeat that is not the last: the configuration runs no more repeats.
    between = _Monitor(str(project), "9", repeat=0, prune=True, last=False)
    for epoch, value in enumerate([0.1, 0.9, 0.95]):
        assert not _epoch(between, epoch, value)
    assert _epoch(between, 3, 0.79) and between.pruned_message == (
        "pruned after repeat 1: mean val_accuracy 0.7900 below the median 0.8000 of 3 finished configurations"
    )
    assert len(between.curve) == 4, "the repeat itself ran to its end"
    off = _Monitor(str(project), "9", repeat=0, prune=False)
    _epoch(off, 0, 0.1)
    assert not _epoch(off, 1, 0.1) and off.curve == {"1": 0.1, "2": 0.1}


def test_only_finished_configurations_count_toward_the_median(tmp_path):
    _finished(tmp_path, "0", [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]])
    _finished(tmp_path, "1", [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]])
    _finished(tmp_path, "2", [[0.9, 0.9, 0.9]], planned=2)  # still running its second repeat
    pruned = _finished(tmp_path, "3", [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]])
    pruned["repeats"]["1"]["pruned"] = True
    records.save(str(tmp_path), "3", pruned)
    monitor = _Monitor(str(tmp_path), "9", repeat=0, prune=True)
    _epoch(monitor, 0, 0.1, epochs=3)
    assert not _epoch(monitor, 1, 0.1, epochs=3), "two finished configurations are too few to prune"
    _finished(tmp_path, "4", [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]])
    assert _epoch(monitor, 2 - 1, 0.1, epochs=3)  # the same epoch again, now with three


def test_summary_and_best_repeat_of_a_record(tmp_path):
    record = _finished(tmp_path, "0", [[0.5, 0.8], [0.6, 0.9], [0.7, 0.85]])
    assert records.best_repeat(record) == 1
    summary = records.means(record)
    assert summary == {"val_accuracy": pytest.approx(0.85), "seconds": 3.0, "pruned": 0.0}
    assert records.is_finished(record) and not records.is_pruned(record)
    assert records.recorded_otherwise(str(tmp_path), "planned", 3) is None
    assert records.recorded_otherwise(str(tmp_path), "planned", 2) == 3


def test_repeat_j_starts_every_configuration_from_the_same_weights():
    dataset = data.load("digits", seed=0)
    hypermodel = LeakyCNN(dataset.input_shape, dataset.num_classes, dataset.pixel_max, seed=0)

    def weights(mode, alpha, repeat):
        hp = kt.HyperParameters()
        hp.Fixed("mode", mode)
        hp.Fixed("alpha", alpha)
        hypermodel.repeat = repeat
        model = hypermodel.build(hp)
        return [
            keras.ops.convert_to_numpy(w) for w in model.weights if "kernel" in w.path or "bias" in w.path
        ]

    fixed, learned, relu = weights("fixed", 0.01, 1), weights("channelwise", 0.2, 1), weights("relu", 0.0, 1)
    assert len(fixed) == 8
    for a, b, c in zip(fixed, learned, relu):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    first = weights("fixed", 0.01, 0)
    assert not np.array_equal(first[0], fixed[0]), "another repeat, another start"
    np.testing.assert_array_equal(weights("fixed", 0.01, 0)[0], first[0])
    assert records.seed_for(7, 0) == 7 and records.seed_for(7, 2) == 2007


@pytest.mark.tensorflow_only
def test_repeat_j_trains_on_the_same_data_order_in_every_configuration():
    """Which images each batch holds: the same for repeat j whatever the
    configuration (and whatever ran before in the process)."""
    import tensorflow as tf

    dataset = data.load("digits", seed=0)
    hypermodel = LeakyCNN(dataset.input_shape, dataset.num_classes, dataset.pixel_max, seed=0)
    x = np.arange(64, dtype="float32").reshape(64, 1, 1, 1) * np.ones((1, *dataset.input_shape), "float32")
    y = np.zeros(64, "int64")

    def order(mode, repeat, reseeded=False):
        hp = kt.HyperParameters()
        hp.Fixed("mode", mode)
        hypermodel.repeat = repeat
        model = hypermodel.build(hp)
        if reseeded:  # whatever seeded or drew random numbers in between
            keras.utils.set_random_seed(123)
            tf.random.uniform((3,))
        model.run_eagerly = True  # so that the step below sees the batches' values
        seen, train_step = [], model.train_step

        def recording_step(batch):
            seen.append(keras.ops.convert_to_numpy(batch[0])[:, 0, 0, 0].tolist())
            return train_step(batch)

        model.train_step = recording_step
        hypermodel.fit(hp, model, x, y, validation_data=(x[:16], y[:16]), epochs=1, batch_size=16, verbose=0)
        assert len(seen) == 4 and sorted(sum(seen, [])) == list(range(64))
        return seen

    assert order("fixed", 1) == order("channelwise", 1, reseeded=True)
    assert order("fixed", 1) != order("fixed", 0)
