"""The verdict's terms, shared by its numbers and its words: the test and
correction it names, the margin, and the results table's columns it reads."""

TEST = "exact sign-flip test across repeats"
CORRECTION = "Bonferroni"
# What the sign-flip test assumes, and so what its decisions are about.
ASSUMPTION = (
    "The test assumes each configuration's differences from ReLU, run by run, are symmetric about "
    "their centre, and decides about that centre: the typical run, not the mean of a skewed difference."
)
# A rectifier is worth changing for a point of accuracy; on the demo's 800
# validation images that is 8 images, where paired repeats differ by ~3.
MARGIN_POINTS = 1.0
CONFIRMED_LEAKY = 1  # the best leaky configuration, which confirmation retrains against ReLU
BASELINE_MODE = "relu"  # the verdict's reference: never pruned, never dropped from a race
SEARCH, CONFIRM = "val_accuracy", "confirm_val_accuracy"
SIZE_COLUMN = "validation_size"
# What the search decided on, written on every row of results.csv, so that
# `python -m tuning verdict` recomputes the decision with no option retyped:
# the repeats and confirmation repeats of the look it stopped on, the
# family-wise levels at that look (better or worse; equivalent), the planned
# looks of each (rounds, space separated; empty unless auto:K), the margin,
# and the comparisons against ReLU that Bonferroni counts.
REPEATS_COLUMN = "verdict_repeats"
CONFIRM_COLUMN = "verdict_confirm"
LEVEL_COLUMN = "verdict_level"
EQUIVALENCE_LEVEL_COLUMN = "verdict_equivalence_level"
LOOKS_COLUMN = "verdict_looks"
EQUIVALENCE_LOOKS_COLUMN = "verdict_equivalence_looks"
MARGIN_COLUMN = "margin_points"
FAMILY_COLUMN = "verdict_family"


def repeat_columns(k, metric=SEARCH):
    """`val_accuracy_1` ... `val_accuracy_K`: one column per repeat."""
    return [f"{metric}_{j}" for j in range(1, k + 1)]
