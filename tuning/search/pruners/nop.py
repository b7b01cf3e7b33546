"""`--prune none`: every configuration runs every repeat to its end."""

from tuning.search.pruners.base import BasePruner


class NopPruner(BasePruner):
    help = "every configuration runs every repeat to its end"

    def prune(self, curves, finished, epoch):
        return None
