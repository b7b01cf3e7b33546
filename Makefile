# `make test` and `make demo` each set up .venv on a fresh machine, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench install clean readme-check

# What ruff (pyproject.toml) lints and formats.
LINTED := keras_lrelu tuning tests tools benchmarks

install: $(STAMP)

# uv (pinned: its flags are this recipe's interface) installs what pip would, faster; it does
# not read pip's configuration, so it is handed pip's find-links (where a machine keeps torch's
# CPU wheel) and the system's certificates. --compile-bytecode: these machines set
# PYTHONDONTWRITEBYTECODE, so every process would otherwise compile the imports again.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.9
	links="$${PIP_FIND_LINKS:-$$($(PY) -m pip config get global.find-links 2>/dev/null)}"; \
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode --system-certs \
		$$(for link in $$links; do printf -- '--find-links %s ' "$$link"; done) -e '.[test,deploy,jax,torch]'
	touch $(STAMP)

# The linter, then the suite on TensorFlow and its backend-neutral tests on JAX and PyTorch,
# side by side (tools/test_lanes.py).
test: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(PY) tools/test_lanes.py

# The README's demo ("What make demo does"): 11 configurations, one run each to choose, then the
# best leaky one and ReLU confirmed round by round until the verdict is decided, at most 10
# (docs/search.md, Time to a decision); all in one process, since a fresh process per trial costs a
# TensorFlow import, and --overwrite for a whole, fresh run.
DEMO_ARGS ?= --dataset mnist5k --tuner grid --modes relu,fixed,channelwise \
	--alpha-min 0.01 --alpha-max 0.5 --max-trials 11 --epochs 3 --repeats 1 \
	--confirm auto:10 --trials-per-process 0 --project demo --overwrite

demo: $(STAMP)
	$(PY) -m tuning search $(DEMO_ARGS)

# Speed and memory against Keras's own layers; CSVs go to benchmarks/results/, which
# docs/performance.md quotes.
bench: $(STAMP)
	$(PY) benchmarks/layer_speed.py
	$(PY) benchmarks/cnn_step.py
	KERAS_BACKEND=torch $(PY) benchmarks/layer_speed.py
	KERAS_BACKEND=torch $(PY) benchmarks/cnn_step.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/deploy.py
	$(PY) benchmarks/onnx_nodes.py
	$(PY) benchmarks/search_memory.py
	$(PY) benchmarks/search_backends.py

clean:
	rm -rf $(VENV) runs saved_models/*/ *.egg-info .lanes

# Checks what README.md and docs/ quote: links, commands and sourced tables (make test runs
# those too), then reruns the demo and predict and compares, timings aside. STUDIES=1 reruns
# compare and dying too.
readme-check: $(STAMP)
	$(PY) tools/readme_check.py $(if $(STUDIES),--studies) $(DEMO_ARGS)
