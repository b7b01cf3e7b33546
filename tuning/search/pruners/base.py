"""What a pruner is: one decision, as Optuna's `BasePruner.prune(study, trial)`."""

from collections.abc import Callable


class BasePruner:
    """Decides, after an epoch of a repeat, whether its configuration stops.

    Where to stop (at the end of the last repeat, never) is the caller's,
    and so is never asking about the verdict's reference (`may_prune`).

    Args:
        margin_fraction: how far below the others a configuration may
            trail before it stops, as a fraction of accuracy (0.01 is one
            point: `tuning.search.pruners.margin_fraction` of --margin), in
            [0, 1].
        repeats: the most repeats a configuration gets (`--repeats`), a
            positive integer, or None where unknown.
        validation_size: the validation images each accuracy counts, a
            positive integer, or None where unknown.

    Raises:
        ValueError: an argument out of its range, naming it and the value
            received.
    """

    help = ""  # what `--prune NAME` does, one clause for --help (tuning.search.pruners.help_text)

    def __init__(
        self, margin_fraction: float = 0.0, repeats: int | None = None, validation_size: int | None = None
    ) -> None:
        if (
            isinstance(margin_fraction, bool)
            or not isinstance(margin_fraction, (int, float))
            or not 0 <= margin_fraction <= 1
        ):
            raise ValueError(
                "`margin_fraction` is a fraction of accuracy in [0, 1] (0.01 is one point). "
                f"Received: margin_fraction={margin_fraction!r}"
            )
        for name, value in (("repeats", repeats), ("validation_size", validation_size)):
            if value is not None and not _positive_integer(value):
                raise ValueError(f"`{name}` is a positive integer or None. Received: {name}={value!r}")
        self.margin_fraction = margin_fraction
        self.repeats = repeats
        self.validation_size = validation_size

    def prune(
        self, curves: list[dict[str, float]], finished: Callable[[], list[list[dict[str, float]]]], epoch: int
    ) -> str | None:
        """Whether the configuration stops after `epoch`.

        Args:
            curves: this configuration's validation accuracy curves so far,
                one per repeat that ran, the running one last; each maps the
                1-based epoch, as a string, to its value (`{"1": 0.91, ...}`).
            finished: a function of no argument that returns the same
                repeats' curves of every other configuration to compare with
                (read only when called).
            epoch: the 1-based epoch that just ended.

        Returns:
            Why the configuration stops, one line for the table and the
            progress, or None to go on.
        """
        raise NotImplementedError


def _positive_integer(value):
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def check_count(name, value):
    """Raises ValueError unless `value` is a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` is a whole number, 0 or more. Received: {name}={value!r}")
