"""What a pruner is: one decision, as Optuna's `BasePruner.prune(study, trial)`."""


class BasePruner:
    """Decides, after an epoch of a repeat, whether its configuration stops.

    `prune(curves, finished, epoch)` gets this configuration's validation
    accuracy curves so far (`{"1": value, ...}`, one per repeat that ran,
    the running one last), a zero-argument function that returns the same
    repeats' curves of every finished configuration (read only when called),
    and the 1-based epoch just ended. It returns why the configuration
    stops, one line for the table and the progress, or None to go on.
    Where to stop (at the end of the last repeat, never) is the caller's,
    and so is never asking about the verdict's reference (`may_prune`).
    """

    def __init__(self, margin=0.0, rounds=None, validation_size=None):
        self.margin = margin  # a fraction: 0.01 is one point of accuracy
        self.rounds = rounds  # the most repeats a configuration gets (--repeats)
        self.validation_size = validation_size  # the images each accuracy counts, if known

    def prune(self, curves, finished, epoch):
        raise NotImplementedError
