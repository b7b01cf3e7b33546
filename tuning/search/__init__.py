"""The search: the hypermodel, KerasTuner's tuners with repeated trials and
pruners, the records of every repeat, confirmation, and the results table."""
