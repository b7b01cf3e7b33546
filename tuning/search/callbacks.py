"""The Keras callbacks a repeat trains with: one records its validation
curve, the other asks the search's pruner whether to go on."""

import keras

from tuning.search import records


class CurveRecorder(keras.callbacks.Callback):
    """Records a run's validation accuracy per epoch: `curve` is {"1": value, ...}."""

    def __init__(self):
        super().__init__()
        self.curve = {}

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_accuracy")
        if value is not None:
            self.curve[str(epoch + 1)] = float(value)


class PruningCallback(keras.callbacks.Callback):
    """After each epoch that `recorder` (listed before this callback)
    recorded, asks `pruner` whether the configuration stops, given its
    `earlier` repeats' curves and this one's, and the finished
    configurations' curves of the same repeats in the project; if so, stops
    training and keeps the reason in `pruned_message`. At the last epoch of
    a repeat that is not the `last` one, stopping means running no further
    repeats; at the last epoch of the last repeat it never stops, so a
    configuration that ran every repeat is finished."""

    def __init__(self, pruner, recorder, project_dir, trial_id, repeat, earlier=(), last=True):
        super().__init__()
        self.pruner, self.recorder = pruner, recorder
        self.project_dir, self.trial_id, self.repeat = project_dir, trial_id, repeat
        self.earlier, self.last = list(earlier), last
        self.pruned_message = None

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if str(number) not in self.recorder.curve:
            return
        at_end = number >= self.params["epochs"]
        if at_end and self.last:
            return

        def finished():
            return records.finished_curves(self.project_dir, self.repeat, self.trial_id)

        reason = self.pruner.prune([*self.earlier, self.recorder.curve], finished, number)
        if reason:
            over = f"over repeats 1-{self.repeat + 1} " if self.repeat else ""
            where = (
                f"after repeat {self.repeat + 1}"
                if at_end
                else f"in repeat {self.repeat + 1}, epoch {number}"
            )
            self.pruned_message = f"pruned {where}: mean val_accuracy {over}{reason}"
            self.model.stop_training = True
