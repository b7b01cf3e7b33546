"""`make test`: the suite on TensorFlow, and its backend-neutral tests on
JAX and on PyTorch, as three pytest runs side by side.

The TensorFlow lane (every test, two workers) is the long one; the JAX and
PyTorch lanes (one worker each) run beside it, on the cores its workers
leave idle while they wait on their searches' processes.

The TensorFlow lane prints as it runs; each other lane's output is kept in
.lanes/BACKEND.log and printed whole once it ends. Then the CPU seconds of
every lane's tests (tools/cpu_per_test.py; .lanes/BACKEND.cpu), and the
tests that took the most. Exits with the first failing lane's code (0 if
all passed). Ctrl-C or a failure to start ends every lane it started, with
their workers.
"""

import os
import signal
import subprocess
import sys

import cpu_per_test

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, ".lanes")
# What the JAX and PyTorch lanes run: the tests that are not about TensorFlow.
BACKEND_TESTS = [
    "tests/layers/test_keras_layer_tests.py",
    "tests/layers/test_leaky_relu.py",
    "tests/layers/test_randomized.py",
    "tests/layers/test_ops.py",
    "tests/layers/test_backends.py",
    "tests/export/test_tf_export.py",
    "tests/search/test_reuse.py",
]
# (backend, pytest workers, what it runs); the first prints as it runs.
LANES = [
    ("tensorflow", 2, []),
    ("jax", 1, ["-m", "not tensorflow_only", *BACKEND_TESTS]),
    ("torch", 1, ["-m", "not tensorflow_only", *BACKEND_TESTS]),
]


def pytest_command(workers, args):
    """Workers each take a test wherever one is free, except that the tests
    sharing a module- or session-scoped fixture of their module stay
    together (tests/conftest.py); the 25 slowest are listed at the end,
    and each test's CPU seconds logged (tools/cpu_per_test.py)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        str(workers),
        "--dist",
        "loadgroup",
        "--durations=25",
        "-p",
        "tools.cpu_per_test",
        *args,
    ]


def cpu_log(backend):
    return os.path.join(LOGS, f"{backend}.cpu")


def lane_environment(backend):
    """The lane's backend, its CPU log, and every lane's share of the cores
    for the threads of each op (tests/conftest.py reads
    KERAS_LRELU_TEST_WORKERS)."""
    workers = sum(count for _, count, _ in LANES)
    return dict(
        os.environ,
        KERAS_BACKEND=backend,
        KERAS_LRELU_TEST_WORKERS=str(workers),
        **{cpu_per_test.ENV: cpu_log(backend)},
    )


def main():
    os.makedirs(LOGS, exist_ok=True)
    for backend, _, _ in LANES:
        open(cpu_log(backend), "w").close()
    (first, workers, args), *others = LANES
    started = []
    try:
        for backend, count, lane_args in others:
            log = open(os.path.join(LOGS, f"{backend}.log"), "w")
            with log:  # the lane holds its own copy of the file
                started.append(
                    (
                        backend,
                        log.name,
                        subprocess.Popen(
                            pytest_command(count, lane_args),
                            cwd=ROOT,
                            env=lane_environment(backend),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        ),
                    )
                )
        codes = [subprocess.call(pytest_command(workers, args), cwd=ROOT, env=lane_environment(first))]
        for backend, path, process in started:
            codes.append(process.wait())
            print(f"\n===== the {backend} lane ({os.path.relpath(path, ROOT)}) =====", flush=True)
            with open(path, encoding="utf-8", errors="replace") as log:
                sys.stdout.write(log.read())
            print(f"===== the {backend} lane exited with {codes[-1]} =====", flush=True)
    finally:
        for _, _, process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    names = [lane[0] for lane in LANES]
    print("\n" + "\n".join(cpu_per_test.summary({name: cpu_log(name) for name in names})), flush=True)
    print("lanes: " + ", ".join(f"{name} {code}" for name, code in zip(names, codes)), flush=True)
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # every lane already ended
        sys.exit(130)
