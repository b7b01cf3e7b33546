"""Timing, bandwidth and table helpers shared by the benchmark scripts."""

import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

# Tests point this elsewhere, so that a smoke run never overwrites real results.
RESULTS_DIR = os.environ.get("KERAS_LRELU_BENCH_RESULTS", os.path.join(os.path.dirname(__file__), "results"))


def time_call(fn, repeats=15, warmup=3):
    """Median and interquartile spread, in milliseconds, of `fn()`."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    quartiles = statistics.quantiles(samples, n=4)
    return statistics.median(samples), quartiles[2] - quartiles[0]


def interleaved_samples(steps_by_name, rounds, per_round=5):
    """Each step's median time (ms) in every round, the steps timed
    round-robin so that drifts in machine load hit every one alike."""
    samples = {name: [] for name in steps_by_name}
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            median, _ = time_call(step, repeats=per_round, warmup=0)
            samples[name].append(median)
    return {name: np.array(s) for name, s in samples.items()}


def interleaved_ms(steps_by_name, rounds, per_round=5):
    """Median and IQR (ms) of each step, timed round-robin."""
    return {
        name: (float(np.median(s)), iqr(s))
        for name, s in interleaved_samples(steps_by_name, rounds, per_round).items()
    }


def iqr(samples):
    """The interquartile range of `samples`."""
    return float(np.subtract(*np.percentile(samples, [75, 25])))


def paired_ratio(samples, baseline):
    """Median over rounds of `samples / baseline` taken round by round: a
    slow spell of the machine slows both sides of each ratio, so this is
    steadier than the ratio of the two medians."""
    return float(np.median(samples / baseline))


def copy_bandwidth_gbs(megabytes=256, repeats=7):
    """This machine's memory-copy bandwidth (read + write), in GB/s."""
    source = np.ones(megabytes * 2**20 // 4, "float32")
    target = np.empty_like(source)
    median_ms, _ = time_call(lambda: np.copyto(target, source), repeats=repeats, warmup=2)
    return 2 * source.nbytes / (median_ms / 1e3) / 1e9


# The modes `model.fit` can run in, per Keras backend, as `compile(jit_compile=...)`:
# TensorFlow's graph mode and XLA; JAX compiled (its eager mode is for debugging);
# PyTorch eager (its torch.compile mode recompiles per shape and is rarely what users run).
MODES = {"tensorflow": {"graph": False, "xla": True}, "jax": {"jit": True}, "torch": {"eager": False}}


def backend():
    import keras

    return keras.backend.backend()


def modes():
    """`{mode name: jit_compile}` for this process's Keras backend."""
    return MODES[backend()]


def machine():
    """One line naming the machine and the Keras backend, for tables."""
    import importlib

    name = backend()
    module = importlib.import_module(name)
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Keras backend {name} {module.__version__}, Python {platform.python_version()}"
    )


def default_mode():
    """The mode `model.fit` runs in on this machine when `compile()` keeps
    its default `jit_compile="auto"` (on TensorFlow, Keras 3.15 resolves
    auto to XLA only when TensorFlow sees an accelerator)."""
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    return next(name for name, jit in modes().items() if jit == bool(model.jit_compile))


def results_name(name):
    """NAME for TensorFlow (the README's main tables), NAME_BACKEND otherwise."""
    return name if backend() == "tensorflow" else f"{name}_{backend()}"


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The demo's grid (make demo): ReLU, then five slopes of a fixed and a learned-per-channel alpha.
DEMO_GRID = [
    "--tuner",
    "grid",
    "--modes",
    "relu,fixed,channelwise",
    "--alpha-min",
    "0.01",
    "--alpha-max",
    "0.5",
]


def search_in_fresh_process(options, project, source=ROOT):
    """`python -m tuning search OPTIONS --project PROJECT` in a fresh
    process and a temporary folder, only the SavedModel exported, with the
    suite of the tree at `source` (this one, or a checkout of an earlier
    commit for an A/B): (its results.csv as a frame, its verdict.json or
    None, wall seconds)."""
    import json
    import subprocess
    import sys
    import tempfile

    command = [sys.executable, "-m", "tuning", "search", *options, "--export-formats", "saved_model"]
    command += ["--trials-per-process", "0", "--quiet", "--project", project]
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=source, TF_CPP_MIN_LOG_LEVEL="2"),
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the search {project} failed:\n{done.stderr[-3000:]}")
        folder = os.path.join(cwd, "runs", project)
        verdict_path = os.path.join(folder, "verdict.json")
        verdict = None
        if os.path.exists(verdict_path):
            with open(verdict_path) as f:
                verdict = json.load(f)
        return pd.read_csv(os.path.join(folder, "results.csv"), dtype={"trial_id": str}), verdict, seconds


def report(rows, name, columns):
    """Prints `rows` as a table and writes them to benchmarks/results/NAME.csv."""
    frame = pd.DataFrame(rows)
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.csv")
    frame.to_csv(path, index=False)
    print(markdown(frame[columns]))
    print(f"\nwritten: {path}")
    return frame


def markdown(frame):
    """A DataFrame as a Markdown table, numbers to three significant digits."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)
