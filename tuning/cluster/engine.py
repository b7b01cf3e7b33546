"""This process's part in a search on KerasTuner's own chief/worker engine.

The chief holds the oracle and serves it over gRPC (KerasTuner's
OracleServicer); workers run trials, asking it for hyperparameters through
KerasTuner's OracleClient. Roles come from the environment variables
KerasTuner reads (KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT).
"""

import os
import re
import socket
import time

from tuning.cluster import assignments
from tuning.errors import UsageError

CHIEF_ID = "chief"
IDLE_SECONDS = 1.0  # how long a worker waits when the chief has no trial for it yet


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
        if trial.status == "IDLE":  # KerasTuner's loop asks again at once
            time.sleep(IDLE_SECONDS)
        if trial.status == "RUNNING" and not re.fullmatch(r"[0-9]{1,9}", str(trial.trial_id)):
            raise UsageError(
                f"the chief sent trial id {str(trial.trial_id)[:40]!r}, not a number; a worker names "
                "folders after trial ids, so this one stops"
            )
        return trial

    oracle.create_trial = checked


def role():
    """ "chief", "worker" or None (a single-process search)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    if "KERASTUNER_ORACLE_IP" not in os.environ or tuner_id is None:
        return None
    return "chief" if CHIEF_ID in tuner_id else "worker"


def serve(tuner, on_tick, token, trial_timeout, tls=None, poll_seconds=0.5):
    """Serves the chief's oracle (over TLS with `tls`, a `tuning.tls.TLS`),
    to callers with the search's secret `token` only (tuning/cluster/guard.py),
    until every worker has been told to stop or forgotten (silent for
    `trial_timeout` seconds) and no trial is running; calls `on_tick()`
    between polls. KerasTuner's own loop polls the end every 20 s; this one
    every `poll_seconds`."""
    from concurrent import futures

    import grpc
    import keras_tuner as kt

    from keras_lrelu import _compat as compat
    from tuning.cluster import guard
    from tuning.cluster.servicer import guarded_servicer

    oracle = tuner.oracle
    create_trial = oracle.create_trial

    def create_and_record(tuner_id):
        trial = create_trial(tuner_id)
        if trial.status == "RUNNING":
            assignments.record(tuner.project_dir, trial.trial_id, tuner_id)
        if trial.status == "STOPPED" and oracle.ongoing_trials:
            # Not yet: another worker's trial may still come back to the queue (a worker
            # silent past --trial-timeout), and this worker should be there to take it.
            oracle.tuner_ids.add(tuner_id)
            return kt.engine.trial.Trial(oracle.get_space(), trial_id="idle", status="IDLE")
        return trial

    oracle.create_trial = create_and_record
    tuner.save()
    checks = guard.Guard(oracle, token, trial_timeout, tuner.hypermodel.outside_space)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), interceptors=[checks])
    servicer = compat.add_oracle_service(
        guarded_servicer(compat.oracle_servicer_class(), oracle, checks, oracle.get_space), server
    )
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
        # Ended once a worker was told there is no more work, or forgotten, and none is left.
        while not ((servicer.stop_triggered or checks.forgot_any) and compat.chief_may_exit(oracle)):
            time.sleep(poll_seconds)
            checks.forget_silent()
            on_tick()
    finally:
        server.stop(grace=1)
    if checks.refused:
        print(f"chief: refused {checks.refused} call(s) in all", flush=True)
    unfinished = sorted(t.trial_id for t in oracle.trials.values() if t.status == "RUNNING")
    if unfinished:  # handed back, with no worker left to take them
        print(
            f"chief: no worker is left for trial(s) {', '.join(unfinished)}; "
            "rerun the same command to finish them",
            flush=True,
        )
