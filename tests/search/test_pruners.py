"""tuning/search/pruners: a pruner is one class with one decision, offered by
--prune from the registry and applied by PruningCallback."""

from tuning.__main__ import build_parser
from tuning.search import pruners
from tuning.search.callbacks import CurveRecorder
from tuning.search.callbacks import PruningCallback


class _Model:
    stop_training = False


class _AfterEpoch(pruners.BasePruner):
    """Stops every configuration once `epoch` ended, and says so."""

    def prune(self, curves, finished, epoch):
        return f"{curves[-1][str(epoch)]:.2f} after epoch {epoch}" if epoch >= 2 else None


def _run(pruner, values, repeat=0, earlier=()):
    recorder = CurveRecorder()
    pruning = PruningCallback(pruner, recorder, "no-project", "7", repeat, earlier, last=True)
    for callback in (recorder, pruning):
        callback.set_model(_Model())
        callback.set_params({"epochs": len(values) + 1})
    model = pruning.model
    for epoch, value in enumerate(values):
        for callback in (recorder, pruning):
            callback.on_epoch_end(epoch, {"val_accuracy": value})
        if model.stop_training:
            break
    return recorder.curve, pruning.pruned_message


def test_a_registered_pruner_is_offered_and_stops_training(monkeypatch):
    monkeypatch.setitem(pruners.PRUNERS, "after-epoch", _AfterEpoch)
    assert build_parser().parse_args(["search", "--prune", "after-epoch"]).prune == "after-epoch"
    pruner = pruners.make("after-epoch", 0.01)
    assert isinstance(pruner, _AfterEpoch) and pruner.margin == 0.01
    curve, message = _run(pruner, [0.5, 0.6, 0.7])
    assert curve == {"1": 0.5, "2": 0.6}, "the curve is recorded up to the epoch that stopped it"
    assert message == "pruned in repeat 1, epoch 2: mean val_accuracy 0.60 after epoch 2"
    _, later = _run(pruner, [0.5, 0.6], repeat=1, earlier=[{"1": 0.4, "2": 0.5}])
    assert later == "pruned in repeat 2, epoch 2: mean val_accuracy over repeats 1-2 0.60 after epoch 2"


def test_no_pruner_reads_nothing_and_stops_nothing():
    def finished():
        raise AssertionError("NopPruner read the finished configurations")

    assert pruners.NopPruner().prune([{"1": 0.1, "2": 0.1}], finished, 2) is None
    assert _run(pruners.make("none", 0.01), [0.1, 0.1, 0.1]) == ({"1": 0.1, "2": 0.1, "3": 0.1}, None)
    assert pruners.MedianPruner(0.01).prune([{"1": 0.1}], finished, 1) is None, "warm-up: not read"
    assert tuple(pruners.PRUNERS) == ("none", "median", "race")
