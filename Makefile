# `make test` and `make demo` each set up .venv on a fresh machine, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench install clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,deploy,jax]'
	touch $(STAMP)

# The whole suite on TensorFlow, then the layer tests once more on Keras's JAX backend.
# Two pytest workers, each test wherever a worker is free, except that the tests sharing a
# module fixture stay together (tests/conftest.py): much of the suite waits on subprocesses.
JAX_TESTS := tests/test_leaky_relu.py tests/test_randomized.py tests/test_ops.py tests/test_backends.py
PYTEST := $(PY) -m pytest -n 2 --dist loadgroup

test: $(STAMP)
	$(PYTEST)
	KERAS_BACKEND=jax $(PYTEST) -m "not tensorflow_only" $(JAX_TESTS)

# A grid: the ReLU baseline, then six slopes (five log-spaced and the default 0.01) for each
# leaky mode: 19 trials.
# About 4.5 minutes on 2 CPU cores (each trial in a fresh process); --overwrite so the demo
# always shows a whole, fresh run.
DEMO_ARGS ?= --dataset mnist5k --tuner grid --modes relu,fixed,channelwise,randomized \
	--max-trials 20 --epochs 4 --project demo --overwrite

demo: $(STAMP)
	$(PY) -m tuning search $(DEMO_ARGS)

# Speed and memory against Keras's own layers; tables print, CSVs go to benchmarks/results/.
bench: $(STAMP)
	$(PY) benchmarks/layer_speed.py
	$(PY) benchmarks/cnn_step.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/deploy.py
	$(PY) benchmarks/search_memory.py

clean:
	rm -rf $(VENV) runs saved_models/*/ *.egg-info
