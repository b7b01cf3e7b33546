"""The pruners `--prune` names: one class each, with one decision method
(base.py). A new pruner is a module here and an entry in PRUNERS."""

from tuning.search.pruners.base import BasePruner
from tuning.search.pruners.median import MedianPruner
from tuning.search.pruners.nop import NopPruner
from tuning.search.pruners.race import RacePruner
from tuning.verdict import BASELINE_MODE

PRUNERS = {"none": NopPruner, "median": MedianPruner, "race": RacePruner}

__all__ = [
    "BasePruner",
    "MedianPruner",
    "NopPruner",
    "PRUNERS",
    "RacePruner",
    "from_settings",
    "help_text",
    "make",
    "margin_fraction",
    "may_prune",
]


def help_text(default: str) -> str:
    """--prune's help, from the entries."""
    listed = "; ".join(f"{name}: {pruner.help}" for name, pruner in PRUNERS.items())
    return f"{listed}; pruned ones are never tested or exported; default: {default}"


def make(
    name: str, margin_fraction: float, repeats: int | None = None, validation_size: int | None = None
) -> BasePruner:
    """The pruner `--prune NAME` names, with the margin (a fraction of
    accuracy), the most repeats and the validation images, where it takes them."""
    return PRUNERS[name](margin_fraction=margin_fraction, repeats=repeats, validation_size=validation_size)


def margin_fraction(margin_points: float) -> float:
    """--margin, in accuracy points, as the fraction of accuracy pruners
    compare with: the one place the search converts it."""
    return margin_points / 100


def from_settings(settings, name: str | None = None, validation_size: int | None = None) -> BasePruner:
    """The pruner of a search's `settings` (tuning/settings.py): `name`
    (default: its --prune), with its --margin and its --repeats."""
    return make(
        name or settings.prune, margin_fraction(settings.margin_points), settings.repeats, validation_size
    )


def may_prune(mode: str) -> bool:
    """Whether a configuration of `mode` may be pruned or dropped: never
    ReLU, the reference every decision of the verdict is made against."""
    return mode != BASELINE_MODE
