import gc
import os
import re
import subprocess
import sys
import textwrap

import pytest


def _share_the_cores():
    """Gives each pytest-xdist worker its share of the cores for the threads
    of every op, in it and in the processes it starts, before TensorFlow or
    PyTorch reads it: left alone, every process sizes its thread pools to the
    whole machine and the workers fight over the cores. JAX keeps its own
    (one thread was slower there), a variable already set is kept, and make
    test's lanes say how many workers share the machine
    (KERAS_LRELU_TEST_WORKERS)."""
    if "PYTEST_XDIST_WORKER_COUNT" not in os.environ:
        return
    workers = int(os.environ.get("KERAS_LRELU_TEST_WORKERS") or os.environ["PYTEST_XDIST_WORKER_COUNT"])
    threads = str(max(1, len(os.sched_getaffinity(0)) // workers))
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, threads)
    if os.environ.get("KERAS_BACKEND") != "jax":
        os.environ.setdefault("OMP_NUM_THREADS", threads)  # PyTorch's threads per op
        # torch.compile's code generation: with more than one thread it starts a pool of
        # processes, each importing PyTorch, for the few kernels a test compiles.
        os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", threads)


_share_the_cores()

# Keras is imported where it is used, not here: xdist's main process loads
# this file but runs no test, and a Keras import there would hold back the workers.

# Keeps subprocesses quiet and away from any GPU a developer may have.
SUBPROCESS_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")


def blocking(*modules):
    """Code to put first in a subprocess's script: any import of `modules`
    then fails, proving that what follows runs without them."""
    return "import sys\n" + "".join(
        f"sys.modules[{name!r}] = None\n"
        f"try:\n    import {name}\nexcept ImportError:\n    pass\n"
        f"else:\n    raise SystemExit({name + ' should not be importable here'!r})\n"
        for name in modules
    )


BLOCK_PLUGIN = blocking("keras_lrelu")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the group markers
def pytest_collection_modifyitems(config, items):
    """Under another Keras backend, tests marked tensorflow_only skip. With
    pytest-xdist's `--dist loadgroup`, the tests that share a module- or
    session-scoped fixture of their module run on one worker (so it is made
    once there) and every other test goes wherever a worker is free. The
    slow tests are sent out first (xdist keeps the order among single
    tests), so that the run does not end with one worker still in a long
    end-to-end test while the other has nothing left."""
    items.sort(key=lambda item: "slow" not in item.keywords)  # stable: files keep their order
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        definitions = definitions.name2fixturedefs if definitions else {}
        shared = sorted(
            name
            for name in getattr(item, "fixturenames", ())
            if name in definitions
            and definitions[name][-1].scope in ("module", "session")
            and definitions[name][-1].func.__module__ == item.module.__name__  # not pytest's own
        )
        if shared:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{shared[0]}"))
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"needs the TensorFlow backend; this run uses {backend}")
    for item in items:
        if "tensorflow_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_keras():
    """Each test starts from Keras's defaults and seed 0. After it,
    clear_session() runs a full garbage collection, and what survives that
    (the modules imported so far, above all) is then put out of the next
    collection's reach with gc.freeze(), as the command line does with
    TensorFlow's objects (tuning.quiet), so that no collection walks every
    module imported since the start (torch.compile's above all). Frozen
    objects that turn into garbage later (a module-scoped fixture's model)
    stay until the worker exits."""
    import keras

    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()
    gc.freeze()


def run_python(code, cwd, block_plugin=False, timeout=300):
    """Runs `code` in a new interpreter; returns its stdout, fails on error.

    With `block_plugin`, keras_lrelu cannot be imported there.
    """
    code = textwrap.dedent(code)
    if block_plugin:
        code = BLOCK_PLUGIN + code
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def cli(args, cwd, env=None, timeout=600):
    """Runs `python -m tuning ARGS` in `cwd`; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "tuning", *args],
        cwd=cwd,
        env=env or SUBPROCESS_ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_in_process(args, cwd, capsys):
    """Runs the command line's `main(ARGS)` in this process, in `cwd`:
    for bad input, which must fail before anything is imported or written,
    without paying a TensorFlow import per case. Returns a CompletedProcess
    like `cli` (argparse's own errors exit, which counts as the return code)."""
    from tuning.__main__ import main

    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.chdir(cwd)
    try:
        code = main(list(args))
    except SystemExit as exit:
        code = exit.code
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)  # distributed roles set KerasTuner's variables
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def ok(result):
    """The stdout of a command that must have succeeded."""
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_one_error_line(result, message):
    """Exit code 2 and exactly one stderr line, matching `message`."""
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert re.match(message, lines[0]), lines[0]


def round_to(values, dtype):
    """`values` rounded to `dtype` (bfloat16 through ml_dtypes), as float64."""
    import ml_dtypes
    import numpy as np

    kind = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    return np.asarray(values).astype(kind).astype("float64")
