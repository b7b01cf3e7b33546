"""Exports: the best models written in every format (a registry in
formats.py), each measured in its own runtime, with a model card; and
`predict`, which serves them."""
