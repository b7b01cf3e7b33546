"""Distributed search on KerasTuner's own chief/worker engine.

The chief holds the oracle and serves it over gRPC (KerasTuner's
OracleServicer); workers run trials, asking it for hyperparameters through
KerasTuner's OracleClient. Roles come from the environment variables
KerasTuner reads (KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT). `launch`
runs a chief and N workers on this host, restarting a worker that dies under
the same id (KerasTuner hands that id its unfinished trial back).
"""

import json
import os
import re
import socket
import subprocess
import threading
import time

from tuning import atomic
from tuning import relaunch
from tuning.errors import SearchStopped
from tuning.errors import UsageError

CHIEF_ID = "chief"
WORKERS_FILE = "workers.json"
RESTARTS = 3
STOP_SECONDS = 10  # how long a stopped chief gets before SIGKILL


def parse_address(text):
    """`HOST:PORT` as (host, port), or UsageError."""
    match = re.fullmatch(r"\[?([\w.\-:]+?)\]?:(\d{1,5})", text or "")
    if not match or not 0 < int(match.group(2)) < 65536:
        raise UsageError(f"--oracle-address must be HOST:PORT, got {text!r}")
    return match.group(1), int(match.group(2))


def check_free(host, port):
    """UsageError unless this host can listen on (host, port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise UsageError(f"--oracle-address {host}:{port} cannot be served: {error.strerror}") from None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(role, address, worker_id, chief_timeout):
    """Sets KerasTuner's environment for this process's role, and bounds how
    long a worker waits for the chief (KerasTuner's client waits an hour)."""
    host, port = parse_address(address)
    if role == "worker" and (not worker_id or CHIEF_ID in worker_id):
        raise UsageError(f"--role worker needs a --worker-id without 'chief' in it, got {worker_id!r}")
    if role == "chief":
        check_free(host, port)
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = str(port)
    os.environ["KERASTUNER_TUNER_ID"] = CHIEF_ID if role == "chief" else worker_id
    from keras_lrelu import _compat as compat  # here: the launcher needs no Keras

    compat.set_chief_timeout(chief_timeout)
    compat.silence_conditions_print()  # its "fixed" lines, one per hyperparameter sent


def accept_numeric_trial_ids(oracle):
    """Makes a worker's `oracle` (KerasTuner's client) refuse a trial whose
    id is not a number: the worker names folders after trial ids, and an
    id such as `../../x` from a hostile chief would put them anywhere."""
    create_trial = oracle.create_trial

    def checked(tuner_id):
        trial = create_trial(tuner_id)
        if trial.status != "STOPPED" and not re.fullmatch(r"[0-9]{1,9}", str(trial.trial_id)):
            raise UsageError(
                f"the chief sent trial id {str(trial.trial_id)[:40]!r}, not a number; a worker names "
                "folders after trial ids, so this one stops"
            )
        return trial

    oracle.create_trial = checked


def role():
    """"chief", "worker" or None (a single-process search)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    if "KERASTUNER_ORACLE_IP" not in os.environ or tuner_id is None:
        return None
    return "chief" if CHIEF_ID in tuner_id else "worker"


def record_worker(project_dir, trial_id, worker):
    """Notes which worker ran a trial, in <project>/workers.json."""
    workers = read_workers(project_dir)
    workers[str(trial_id)] = worker
    atomic.write_json(os.path.join(project_dir, WORKERS_FILE), workers)


def read_workers(project_dir):
    """`{trial id: worker}` from <project>/workers.json ({} if there is none).

    Raises:
        UsageError: if the file is not such a mapping, rather than reading it
            as empty and dropping the record at the next write.
    """
    path = os.path.join(project_dir, WORKERS_FILE)
    try:
        with open(path) as f:
            workers = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UsageError(
            f"{path} cannot be read ({error}); restore it, or delete it to drop "
            "the record of which worker ran which trial"
        ) from None
    if not isinstance(workers, dict):
        raise UsageError(f"{path} holds no trial -> worker mapping; restore it or delete it")
    return workers


def serve(tuner, on_tick, tls=None, poll_seconds=0.5):
    """Serves the chief's oracle (over TLS with `tls`, a `tuning.tls.TLS`)
    until every worker has been told to stop and no trial is running;
    calls `on_tick()` between polls. KerasTuner's own loop polls the end
    every 20 s; this one every `poll_seconds`."""
    from concurrent import futures

    import grpc

    from keras_lrelu import _compat as compat

    oracle = tuner.oracle
    create_trial = oracle.create_trial

    def create_and_record(tuner_id):
        trial = create_trial(tuner_id)
        if trial.status == "RUNNING":
            record_worker(tuner.project_dir, trial.trial_id, tuner_id)
        return trial

    oracle.create_trial = create_and_record
    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = compat.add_oracle_service(oracle, server)
    host, port = os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"]
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.server_credentials())
    if not bound:
        raise UsageError(f"--oracle-address {address} cannot be served")
    server.start()
    print(f"chief: serving the oracle at {address}{' over TLS' if tls else ''}", flush=True)
    try:
        while not (servicer.stop_triggered and compat.chief_may_exit(oracle)):
            time.sleep(poll_seconds)
            on_tick()
    finally:
        server.stop(grace=1)


def launch(argv, workers):
    """Runs `python -m tuning search ARGV` as a chief plus `workers` worker
    processes on 127.0.0.1, each with the search's --threads; streams
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
    base = relaunch.command("search", *argv, "--oracle-address", address)
    # Every worker inherits the search's TF_NUM_INTRAOP_THREADS (--threads):
    # TensorFlow's CPU kernels split their sums by it, so a worker with fewer
    # threads would score a trial differently. Ops run one at a time.
    env = relaunch.environment(dict(os.environ, TF_NUM_INTEROP_THREADS="1"))
    chief = _start(base + ["--role", "chief"], relaunch.environment(), "chief")
    crews = {
        f"worker{i}": _start(base + ["--role", "worker", "--worker-id", f"worker{i}"], env, f"worker{i}")
        for i in range(1, workers + 1)
    }
    restarts = dict.fromkeys(crews, 0)
    try:
        while chief.poll() is None:
            time.sleep(0.5)
            for name, process in crews.items():
                code = process.poll()
                if code not in (None, 0) and restarts[name] < RESTARTS:
                    restarts[name] += 1
                    print(f"[launcher] {name} exited with {code}; restarting it ({restarts[name]}/{RESTARTS})",
                          flush=True)
                    command = base + ["--role", "worker", "--worker-id", name]
                    crews[name] = _start(command, env, name)
            if all(p.poll() is not None for p in crews.values()):
                if all(p.returncode == 0 for p in crews.values()):
                    # Told there is no more work: the chief ends once it has written
                    # the table and the export, however long those take.
                    return chief.wait()
                _end_without_workers(chief, crews)
    finally:
        for process in crews.values():
            try:
                process.wait(timeout=30 if chief.poll() == 0 else 1)
            except subprocess.TimeoutExpired:
                process.kill()
        _stop(chief)  # Ctrl-C or an error here must not leave it serving
    return chief.wait()


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


def _start(command, env, name):
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    threading.Thread(target=_relay, args=(process, name), daemon=True).start()
    print(f"[launcher] {name} started, pid {process.pid}", flush=True)
    return process


def _relay(process, name):
    for line in process.stdout:
        print(f"[{name}] {line}", end="", flush=True)
