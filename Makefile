# `make test` and `make demo` each set up .venv on a fresh machine, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench install clean readme-check

install: $(STAMP)

# uv installs what pip would (the same resolver rules, from the same registry), in half the
# time here: it unpacks and compiles the wheels on every core (pip: 2:05, uv: 0:45-1:03).
# It does not read pip's configuration, so it is handed what pip would use:
# - pip's find-links (where a machine keeps a local wheel, as ours do for torch's CPU build);
# - the system's certificates (--system-certs), which pip is told to trust in pip.conf here,
#   and which uv otherwise reads only from SSL_CERT_FILE, a variable a CI run may not have.
# --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE, so what is not compiled
# now would be compiled again by every process that imports it.
# uv is pinned: its flags are this Makefile's interface to it. The find-links are read when
# the line runs (make expands a whole recipe before its first line, when .venv is not there).
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.9
	links="$${PIP_FIND_LINKS:-$$($(PY) -m pip config get global.find-links 2>/dev/null)}"; \
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode --system-certs \
		$$(for link in $$links; do printf -- '--find-links %s ' "$$link"; done) -e '.[test,deploy,jax,torch]'
	touch $(STAMP)

# The whole suite on TensorFlow (two pytest workers), and beside it the backend-neutral
# layer tests once more on Keras's JAX backend and once more on its PyTorch backend
# (torch==2.13.0, the CPU build: the `torch` extra), one worker each: tools/test_lanes.py.
test: $(STAMP)
	$(PY) tools/test_lanes.py

# A grid: the ReLU baseline, then five log-spaced slopes from 0.01 to 0.5 for a fixed and a
# learned-per-channel alpha: 11 configurations, 3 epochs each, each trained 3 times (repeat j
# from the same seed in every configuration) to choose the best, with median pruning; then
# the two best leaky configurations and ReLU 8 more times from seeds no choice used, the
# repeats the verdict against ReLU is decided on (8: the fewest at which an exact test over
# two comparisons finds a true equivalence in most searches; tuning/search/calibration.py).
# No randomized mode, no slopes below 0.01, and every trial in one process
# (--trials-per-process 0: a fresh process per trial costs a TensorFlow import).
# --overwrite so the demo always shows a whole, fresh run. README: "What make demo does".
DEMO_ARGS ?= --dataset mnist5k --tuner grid --modes relu,fixed,channelwise \
	--alpha-min 0.01 --alpha-max 0.5 --max-trials 11 --epochs 3 --repeats 3 --prune median \
	--confirm 8 --trials-per-process 0 --project demo --overwrite

demo: $(STAMP)
	$(PY) -m tuning search $(DEMO_ARGS)

# Speed and memory against Keras's own layers, on TensorFlow and PyTorch, and the demo grid's
# time per trial on each backend; tables print, CSVs go to benchmarks/results/ (NAME.csv for
# TensorFlow, NAME_torch.csv for PyTorch, search_backends.csv for all three).
bench: $(STAMP)
	$(PY) benchmarks/layer_speed.py
	$(PY) benchmarks/cnn_step.py
	KERAS_BACKEND=torch $(PY) benchmarks/layer_speed.py
	KERAS_BACKEND=torch $(PY) benchmarks/cnn_step.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/deploy.py
	$(PY) benchmarks/search_memory.py
	$(PY) benchmarks/search_backends.py

clean:
	rm -rf $(VENV) runs saved_models/*/ *.egg-info .lanes

# Reruns what the README quotes (the demo's table, the card's figures, predict's output; the
# study tables against results/) and fails where the README differs, timings aside. Not part
# of `make test`: it runs the demo (a few minutes). STUDIES=1 reruns compare and dying too.
readme-check: $(STAMP)
	$(PY) tools/readme_check.py $(if $(STUDIES),--studies) $(DEMO_ARGS)
