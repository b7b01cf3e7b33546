"""The statistics and the verdict: whether the slope matters on the user's
images, decided from a results table alone. Nothing here imports
TensorFlow or Keras, so `python -m tuning verdict` runs without them.

stats.py holds the tests and intervals, decision.py the verdict built on
them (its numbers), wording.py its words, terms.py the names both share,
command.py the `verdict` command; the simulated searches that measure
its error rates are tuning/search/calibration.py.
"""

from tuning.verdict.decision import decide
from tuning.verdict.decision import finished
from tuning.verdict.decision import is_decided
from tuning.verdict.decision import to_confirm
from tuning.verdict.terms import CONFIRM
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import MARGIN_POINTS
from tuning.verdict.terms import SEARCH
from tuning.verdict.terms import SIZE_COLUMN
from tuning.verdict.terms import repeat_columns
from tuning.verdict.wording import margin_text
from tuning.verdict.wording import verdict_text

__all__ = [
    "CONFIRM",
    "CONFIRMED_LEAKY",
    "MARGIN_POINTS",
    "SEARCH",
    "SIZE_COLUMN",
    "decide",
    "finished",
    "is_decided",
    "margin_text",
    "repeat_columns",
    "to_confirm",
    "verdict_text",
]
