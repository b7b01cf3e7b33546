"""The pruners `--prune` names: one class each, with one decision method
(base.py). A new pruner is a module here and an entry in PRUNERS."""

from tuning.search.pruners.base import BasePruner
from tuning.search.pruners.median import MedianPruner
from tuning.search.pruners.nop import NopPruner
from tuning.search.pruners.race import RacePruner

PRUNERS = {"none": NopPruner, "median": MedianPruner, "race": RacePruner}

__all__ = ["BasePruner", "MedianPruner", "NopPruner", "PRUNERS", "RacePruner", "make"]


def make(name, margin, rounds=None):
    """The pruner `--prune NAME` names, with the margin (a fraction) and the
    most repeats (`rounds`) where it takes them."""
    return PRUNERS[name](margin=margin, rounds=rounds)
