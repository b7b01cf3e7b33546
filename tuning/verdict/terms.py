"""The verdict's terms, shared by its numbers and its words: the test and
correction it names, the margin, and the results table's columns it reads."""

TEST = "exact sign-flip test across repeats"
CORRECTION = "Bonferroni"
# A rectifier is worth changing for a point of accuracy; on the demo's 800
# validation images that is 8 images, where paired repeats differ by ~3.
MARGIN_POINTS = 1.0
CONFIRMED_LEAKY = 2  # the best leaky configurations that confirmation retrains
SEARCH, CONFIRM = "val_accuracy", "confirm_val_accuracy"
SIZE_COLUMN = "validation_size"
LEVEL_COLUMN = "verdict_level"  # a sequential search's level at the look it stopped on


def repeat_columns(k, metric=SEARCH):
    """`val_accuracy_1` ... `val_accuracy_K`: one column per repeat."""
    return [f"{metric}_{j}" for j in range(1, k + 1)]
