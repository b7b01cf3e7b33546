"""`--workers N`: a chief and N worker processes of one search on this
host, restarting a worker that dies under the same id (KerasTuner hands
that id its unfinished trial back)."""

import os
import signal
import subprocess
import sys
import threading
import time

from tuning import relaunch
from tuning.cluster import secret
from tuning.cluster.engine import free_port
from tuning.errors import SearchStopped
from tuning.names import COMMAND_ENV
from tuning.names import LAUNCHER_PID_ENV
from tuning.names import ROUND_WORKERS_ENV

RESTARTS = 3
STOP_SECONDS = 10  # how long a stopped chief gets before SIGKILL


def launch(settings, lock=None):
    """Runs the search of `settings` (tuning/settings.py) as a chief plus
    `settings.workers` worker processes on 127.0.0.1, each with the
    search's --threads (the chief shares `lock`, the project's: tuning/locks.py); streams
    their output, restarts a worker that dies (up to RESTARTS times), and
    returns the chief's exit code.

    Raises:
        SearchStopped: when no worker is left and the chief still waits
            (for trials of workers that died more often than they may be
            restarted): the chief is stopped, at most 2 * STOP_SECONDS
            after the last worker ended.
    """
    port = free_port()
    address = f"127.0.0.1:{port}"
    # The search's secret, in the environment of its own processes only: a command line is
    # anyone's to read (ps), another user's process cannot read this one's environment. Each
    # also learns this process's pid, to end with it (follow_launcher).
    inherited = {secret.ENV: secret.new(), LAUNCHER_PID_ENV: str(os.getpid())}
    # Every worker inherits the search's TF_NUM_INTRAOP_THREADS (--threads):
    # TensorFlow's CPU kernels split their sums by it, so a worker with fewer
    # threads would score a trial differently. Ops run one at a time.
    env = relaunch.environment(dict(os.environ, TF_NUM_INTEROP_THREADS="1", **inherited))
    # The chief trains a race's later rounds (tuning/search/race.py) in as many processes.
    chief_env = relaunch.environment(
        dict(
            os.environ,
            **{ROUND_WORKERS_ENV: str(settings.workers), COMMAND_ENV: settings.command},
            **inherited,
        )
    )
    shared = ()
    if lock is not None:
        chief_env.update(lock.share(owner=False))
        shared = (lock.descriptor,)
    chief = _start(settings.cluster_process(address, "chief"), chief_env, "chief", shared)
    crews = {
        f"worker{i}": _start(settings.cluster_process(address, "worker", f"worker{i}"), env, f"worker{i}")
        for i in range(1, settings.workers + 1)
    }
    restarts = dict.fromkeys(crews, 0)
    try:
        while chief.poll() is None:
            time.sleep(0.5)
            for name, process in crews.items():
                code = process.poll()
                if code not in (None, 0) and restarts[name] < RESTARTS:
                    restarts[name] += 1
                    print(
                        f"[launcher] {name} exited with {code}; restarting it ({restarts[name]}/{RESTARTS})",
                        flush=True,
                    )
                    crews[name] = _start(settings.cluster_process(address, "worker", name), env, name)
            if all(p.poll() is not None for p in crews.values()):
                if all(p.returncode == 0 for p in crews.values()):
                    # Told there is no more work: the chief ends once it has written
                    # the table and the export, however long those take.
                    return chief.wait()
                _end_without_workers(chief, crews)
    finally:
        for name, process in crews.items():
            try:
                process.wait(timeout=STOP_SECONDS if chief.poll() == 0 else 1)
            except subprocess.TimeoutExpired:
                # One the chief forgot (silent past --trial-timeout: stopped, or hung).
                print(f"[launcher] {name} still runs after the chief ended; stopping it", flush=True)
                process.kill()
        _stop(chief)  # Ctrl-C or an error here must not leave it serving
    return chief.wait()


def follow_launcher():
    """In a chief or worker that `--workers N` started: ends this process
    with SIGTERM as soon as its launcher dies, even by SIGKILL (Linux's
    parent-death signal, kept across the execve of a fresh process). A
    worker then dies at once, before it could report its trial as failed,
    and the chief ends as Ctrl-C ends it, its trials still RUNNING: the
    same command resumes and reruns them. Elsewhere the launcher's own
    `finally` stops them, which a SIGKILL skips."""
    launcher = os.environ.get(LAUNCHER_PID_ENV, "")
    if not launcher.isdigit() or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != int(launcher):  # it died before that took hold
        os.kill(os.getpid(), signal.SIGTERM)


def _end_without_workers(chief, crews):
    """With no worker left, the chief has STOP_SECONDS to end on its own (it
    does once every trial has ended); else it is stopped, since a trial of a
    worker that kept dying stays RUNNING and the chief would wait forever."""
    try:
        chief.wait(timeout=STOP_SECONDS)
        return
    except subprocess.TimeoutExpired:
        _stop(chief)
    dead = [f"{name} (exit code {p.returncode})" for name, p in crews.items() if p.returncode != 0]
    raise SearchStopped(
        f"no worker left: {', '.join(dead)} kept dying "
        f"({RESTARTS} restarts each); stopped the chief. Rerun the same command to resume"
    )


def _stop(process):
    """Ends `process`: SIGTERM, then SIGKILL after STOP_SECONDS."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _start(command, env, name, pass_fds=()):
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        pass_fds=pass_fds,
    )
    threading.Thread(target=_relay, args=(process, name), daemon=True).start()
    print(f"[launcher] {name} started, pid {process.pid}", flush=True)
    return process


def _relay(process, name):
    for line in process.stdout:
        print(f"[{name}] {line}", end="", flush=True)
