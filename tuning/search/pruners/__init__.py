"""The pruners `--prune` names: one class each, with one decision method
(base.py). A new pruner is a module here and an entry in PRUNERS."""

from tuning.search.pruners.base import BasePruner
from tuning.search.pruners.median import MedianPruner
from tuning.search.pruners.nop import NopPruner

PRUNERS = {"none": NopPruner, "median": MedianPruner}

__all__ = ["BasePruner", "MedianPruner", "NopPruner", "PRUNERS", "make"]


def make(name, margin):
    """The pruner `--prune NAME` names, with the margin (a fraction) where it takes one."""
    return PRUNERS[name](margin=margin)
