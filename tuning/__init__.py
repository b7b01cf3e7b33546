"""The alpha-search experiment suite built on keras_lrelu."""
