"""The statistics and the verdict: whether the slope matters on the user's
images, decided from a results table alone. Nothing here imports
TensorFlow or Keras, so `python -m tuning verdict` runs without them.

stats.py holds the tests and intervals, sequential.py the plan of looks
of `auto:K`, rows.py the rows of a results table that the verdict reads,
decision.py the verdict built on them (its numbers), recorded.py what
results.csv records of it and its recomputation from there, wording.py
its words, terms.py the names they share, command.py the `verdict`
command; the simulated searches that measure its error rates are
tuning/search/calibration.py.
"""

from tuning.verdict.decision import decide
from tuning.verdict.decision import is_decided
from tuning.verdict.recorded import recompute
from tuning.verdict.rows import finished
from tuning.verdict.rows import search_family
from tuning.verdict.rows import to_confirm
from tuning.verdict.terms import BASELINE_MODE
from tuning.verdict.terms import CONFIRM
from tuning.verdict.terms import CONFIRMED_LEAKY
from tuning.verdict.terms import MARGIN_POINTS
from tuning.verdict.terms import SEARCH
from tuning.verdict.terms import SIZE_COLUMN
from tuning.verdict.terms import repeat_columns
from tuning.verdict.wording import margin_text
from tuning.verdict.wording import verdict_text

__all__ = [
    "BASELINE_MODE",
    "CONFIRM",
    "CONFIRMED_LEAKY",
    "MARGIN_POINTS",
    "SEARCH",
    "SIZE_COLUMN",
    "decide",
    "finished",
    "is_decided",
    "margin_text",
    "recompute",
    "repeat_columns",
    "search_family",
    "to_confirm",
    "verdict_text",
]
