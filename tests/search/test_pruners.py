"""tuning/search/pruners: a pruner is one class with one decision, offered by
--prune from the registry and applied by PruningCallback."""

import pytest

from tuning.__main__ import build_parser
from tuning.search import pruners
from tuning.search.callbacks import CurveRecorder
from tuning.search.callbacks import PruningCallback


class _Model:
    stop_training = False


class _AfterEpoch(pruners.BasePruner):
    """Stops every configuration once `epoch` ended, and says so."""

    help = "stop after epoch 2"

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
    assert "; after-epoch: stop after epoch 2; " in pruners.help_text("none")
    pruner = pruners.make("after-epoch", 0.01)
    assert isinstance(pruner, _AfterEpoch) and pruner.margin_fraction == 0.01
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
    assert {"none", "median", "race"} <= set(pruners.PRUNERS)
    assert "none: every configuration runs every repeat to its end; median: " in pruners.help_text("none")


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: pruners.NopPruner(margin_fraction=-0.01),
            r"^`margin_fraction` is a fraction .* Received: margin_fraction=-0\.01$",
        ),
        (lambda: pruners.MedianPruner(margin_fraction=2.5), r"Received: margin_fraction=2\.5$"),
        (lambda: pruners.RacePruner(margin_fraction="1"), r"Received: margin_fraction='1'$"),
        (
            lambda: pruners.RacePruner(repeats=0),
            r"^`repeats` is a positive integer or None\. Received: repeats=0$",
        ),
        (lambda: pruners.RacePruner(repeats=2.5), r"Received: repeats=2\.5$"),
        (lambda: pruners.RacePruner(validation_size=True), r"Received: validation_size=True$"),
        (
            lambda: pruners.MedianPruner(startup=-1),
            r"^`startup` is a whole number, 0 or more\. Received: startup=-1$",
        ),
        (lambda: pruners.MedianPruner(warmup_epochs=1.5), r"Received: warmup_epochs=1\.5$"),
    ],
)
def test_a_pruner_refuses_an_argument_out_of_range_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_pruner_keeps_the_arguments_it_was_given():
    pruner = pruners.MedianPruner(
        margin_fraction=1.0, repeats=3, validation_size=288, startup=0, warmup_epochs=0
    )
    assert (pruner.margin_fraction, pruner.repeats, pruner.validation_size) == (1.0, 3, 288)
    assert (pruner.startup, pruner.warmup_epochs) == (0, 0)
