"""KerasTuner's chief/worker mode through our command, as real processes on 127.0.0.1."""

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from conftest import SUBPROCESS_ENV
from conftest import assert_one_error_line
from conftest import cli
from conftest import cli_in_process
from conftest import ok

pytestmark = pytest.mark.slow
# All of a worker's trials in one process, except where a test says otherwise: a fresh
# process per trial costs a TensorFlow import each.
SEARCH = [
    "search",
    "--dataset",
    "digits",
    "--tuner",
    "random",
    "--seed",
    "0",
    "--export-formats",
    "saved_model",
    "--trials-per-process",
    "0",
]


def _table(cwd):
    return pd.read_csv(cwd / "runs" / "alpha-digits" / "results.csv")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args, cwd, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "tuning", *args],
        cwd=cwd,
        env=SUBPROCESS_ENV,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **popen,
    )


def _wait_until_unlocked(path, seconds=60):
    """Until no process holds the project's lock: SIGKILL reaches the
    launcher's chief and workers at once, but on a loaded machine one may
    take a moment to die and close its descriptor, and a user reruns after."""
    import fcntl

    deadline = time.monotonic() + seconds
    if not os.path.exists(path):  # its holder ended and removed it
        return
    with open(path, "rb") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{path} still held {seconds} s after the kill"
                time.sleep(0.1)
            else:
                fcntl.flock(lock, fcntl.LOCK_UN)
                return


def _wait_for_line(process, pattern):
    for line in process.stdout:
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"never printed {pattern!r}")


def test_workers_share_a_search_race_it_and_the_chief_exports(tmp_path, capsys):
    """One --workers 2 search, one trial per process, raced over 3 rounds and
    confirmed: the workers train round 1, the chief trains rounds 2 and 3 in
    two processes, then confirms and exports; every run scores as it does
    when the whole search runs in one process."""
    # Learned slopes: their d(alpha) is a sum over every element, the first to move.
    args = [*SEARCH, "--modes", "channelwise,relu", "--max-trials", "3", "--epochs", "1"]
    args += ["--repeats", "3", "--prune", "race"]
    user = [*args, "--workers", "2", "--trials-per-process", "1", "--confirm", "2"]
    stdout = ok(cli(user, tmp_path))
    table = _table(tmp_path)
    # What reruns the search is the user's command, not the chief's own (--role chief on a port).
    command = shlex.join(["python", "-m", "tuning", *user])
    assert (table["command"] == command).all()
    assert json.loads((tmp_path / "runs" / "alpha-digits" / "verdict.json").read_text())["command"] == command
    card = tmp_path / "saved_models" / "alpha-digits" / "best" / "model_card.json"
    assert json.loads(card.read_text())["command"] == command
    # The chief's rounds, each split over as many processes as there are workers.
    racing = re.findall(r"\[chief\] race round (\d)/3: (\d) racing \(trained in 2 processes\)", stdout)
    assert [round for round, _ in racing] == ["2", "3"], stdout[-3000:]
    # The chief confirms the best leaky configuration and ReLU (seed 0 draws channelwise, ReLU,
    # channelwise) once the rounds are done.
    confirmed = table[["confirm_val_accuracy_1", "confirm_val_accuracy_2"]].notna().all(axis=1)
    assert confirmed.sum() == 2 and stdout.count("[chief] confirm ") == 4
    assert len(table) == 3 and table["trial_id"].is_unique
    assert "[chief] Best: trial " in stdout
    # Which worker asks first is up to the scheduler: every trial has one of them.
    assert set(table["worker"]) <= {"worker1", "worker2"} and table["worker"].notna().all()
    assert "[chief] exported: saved_models/alpha-digits/best" in stdout
    # One trial per process: each worker's later trials ran in fresh processes (not restarts).
    assert stdout.count("(fresh process)") == 3 - table["worker"].nunique()
    assert "restarting" not in stdout
    # Workers count trials from 1, as one process does (each knows only its own).
    assert sorted(re.findall(r"\[worker\d\] trial (\d+) \(of 3\)", stdout)) == ["1", "2", "3"]
    assert (tmp_path / "saved_models" / "alpha-digits" / "best" / "saved_model.pb").exists()

    # A run scores the same in any layout: here the whole race runs in one process (this
    # one), one run after another, no workers and no round processes.
    ok(cli_in_process([*args, "--project", "single"], tmp_path, capsys))
    single = pd.read_csv(tmp_path / "runs" / "single" / "results.csv")
    keys = ["mode", "alpha", "filters", "learning_rate"]
    both = table.merge(single, on=keys, suffixes=("_workers", "_single"), validate="one_to_one")
    assert len(both) == 3 and (both["status_workers"] == both["status_single"]).all()
    for column in ("val_accuracy_1", "val_loss_1", "val_accuracy_2", "val_accuracy_3"):
        pairs = both[[f"{column}_workers", f"{column}_single"]]
        assert pairs[f"{column}_workers"].notna().equals(pairs[f"{column}_single"].notna())
        assert (pairs.dropna()[f"{column}_workers"] == pairs.dropna()[f"{column}_single"]).all(), both[
            keys + list(pairs)
        ]


def test_a_killed_worker_is_restarted_and_a_search_killed_whole_resumes(tmp_path):
    """One search, two kills: worker1 a second into its first trial (the
    launcher restarts it, and it takes a trial again), then, once a trial
    has ended, the launcher alone (its chief and workers end with it). The
    same command then finishes the search, training again what was
    interrupted and not what had finished."""
    args = [*SEARCH, "--max-trials", "3", "--epochs", "3", "--workers", "2"]
    launcher = _start(args, tmp_path)
    pid = int(_wait_for_line(launcher, r"\[launcher\] worker1 started, pid (\d+)").group(1))
    _wait_for_line(launcher, r"\[worker1\] trial \d+ \(of 3\)")
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    _wait_for_line(launcher, r"\[launcher\] worker1 exited with -9; restarting it")
    restarted_trial, ended = None, 0
    for line in launcher.stdout:  # the two lines may come in either order
        restarted_trial = restarted_trial or re.search(r"\[worker1\] trial \d+ \(of 3\)", line)
        count = re.search(r"\[chief\] chief: (\d)/3 trials ended", line)
        ended = int(count.group(1)) if count else ended
        if restarted_trial and ended:
            break
    assert restarted_trial and ended, "the restarted worker never took a trial, or no trial ended"
    # The launcher alone, as `kill -9 PID` does: its chief and workers go with it, the
    # trials they were training left RUNNING (not FAILED), for the rerun to train again.
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait(timeout=60)
    _wait_until_unlocked(tmp_path / "runs" / ".alpha-digits.lock")
    deadline = time.monotonic() + 30
    with contextlib.suppress(ProcessLookupError):
        while time.monotonic() < deadline:
            os.killpg(launcher.pid, 0)  # raises once no process it started is left
            time.sleep(0.2)
        raise AssertionError("the launcher's chief or a worker outlived it")
    before = _table(tmp_path)
    finished = before[before["status"] == "COMPLETED"]
    assert 1 <= len(finished) < 3, "the restarted worker's trial was still running"
    assert set(before["status"]) <= {"COMPLETED", "RUNNING"}, before["status"]
    ok(cli(args, tmp_path))
    after = _table(tmp_path)
    assert len(after) == 3 and (after["status"] == "COMPLETED").all()
    kept = ["trial_id", "val_accuracy", "seconds"]
    merged = finished[kept].merge(after[kept], on="trial_id", suffixes=("", "_after"))
    assert (merged["seconds"] == merged["seconds_after"]).all(), "finished trials were not retrained"


def test_a_stopped_worker_is_forgotten_its_trial_retrained_and_the_search_ends(tmp_path):
    """A worker SIGSTOPped in its first trial (a host that vanished, a hung
    process) sends nothing: after --trial-timeout the chief hands its trial
    to the other worker and forgets it. Woken up, its late report is refused
    with one line; it stops, and the launcher restarts it.
    Meanwhile a stranger opens a call that never sends its message
    (refused unread), and a process of the same user, which reads the
    secret in the chief's environment, as worker2: ends worker2's trial with
    `alpha` left out (refused: the table keeps the slope worker2 trained),
    or with a space that adds `evil`, updates it without the objective (each
    refused), and opens a call that never sends its message (cut off after
    10 s). The search still ends with exit 0 and its export."""
    import grpc
    import keras_tuner as kt

    from tuning.cluster import guard
    from tuning.cluster import secret

    args = [*SEARCH, "--max-trials", "3", "--epochs", "20", "--workers", "2", "--trial-timeout", "20"]
    launcher = _start(args, tmp_path)
    try:
        output = _Lines(launcher)
        chief = int(output.wait_for(r"\[launcher\] chief started, pid (\d+)").group(1))
        pid = int(output.wait_for(r"\[launcher\] worker1 started, pid (\d+)").group(1))
        trial = output.wait_for(r"\[worker1\] trial (\d+) \(of 3\)").group(1)
        os.kill(pid, signal.SIGSTOP)
        stopped = int(trial) - 1
        address = output.wait_for(r"\[chief\] chief: serving the oracle at (\S+)").group(1)
        environ = dict(
            entry.split("=", 1) for entry in open(f"/proc/{chief}/environ").read().split("\0") if "=" in entry
        )
        as_worker2 = guard.client_metadata(environ[secret.ENV], "worker2")
        target = str(int(output.wait_for(r"\[worker2\] trial (\d+) \(of 3\)").group(1)) - 1)
        stub, service = _stub(address)
        stalled = grpc.insecure_channel(address).stream_unary("/keras_tuner.Oracle/GetSpace", bytes, bytes)
        release = threading.Event()
        never = lambda: iter(lambda: release.wait() and None, None)  # noqa: E731
        stall = stalled.future(never(), metadata=as_worker2)
        stranger = stalled.future(never())  # no token: refused at once, unread
        handed = kt.engine.trial.Trial.from_proto(
            stub.GetTrial(service.GetTrialRequest(trial_id=target), metadata=as_worker2, timeout=30).trial
        )
        alpha = handed.hyperparameters.values["alpha"]
        relabelled = kt.engine.trial.Trial.from_proto(handed.to_proto())
        relabelled.status = "COMPLETED"
        del relabelled.hyperparameters.values["alpha"]
        widened = kt.engine.trial.Trial.from_proto(handed.to_proto())
        widened.status = "COMPLETED"
        with widened.hyperparameters.conditional_scope("mode", ["no such mode"]):
            widened.hyperparameters.Choice("evil", ["../../x"])
        no_objective = service.UpdateTrialRequest(trial_id=target, metrics={"loss": 0.1})
        forgeries = [
            lambda t=trial: stub.EndTrial(
                service.EndTrialRequest(trial=t.to_proto()), metadata=as_worker2, timeout=30
            )
            for trial in (relabelled, widened)
        ]
        forgeries.append(lambda: stub.UpdateTrial(no_objective, metadata=as_worker2, timeout=30))
        assert [_code(call) for call in forgeries] == ["INVALID_ARGUMENT"] * 3
        assert stranger.exception(timeout=30).code().name == "UNAUTHENTICATED"
        assert stall.exception(timeout=30).code().name == "DEADLINE_EXCEEDED"
        release.set()
        output.wait_for(
            rf"\[chief\] chief: worker1 sent nothing for 20 s \(--trial-timeout\); trial {stopped} goes back "
            "to the queue and worker1 is forgotten"
        )
        os.kill(pid, signal.SIGCONT)
        output.wait_for(rf"\[chief\] chief: ignored a late result for trial {stopped} from worker1")
        assert launcher.wait(timeout=300) == 0, output.text()[-3000:]
        time.sleep(0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):  # what it started, if any is left
            os.killpg(launcher.pid, signal.SIGKILL)
    text = output.text()
    assert text.count("ignored a late result") == 2  # the chief's one line, and the worker's error
    assert re.search(
        r"\[worker1\] error: the chief at 127\.0\.0\.1:\d+ refused a call \(FAILED_PRECONDITION\)", text
    )
    assert "[launcher] worker1 exited with 2; restarting it (1/3)" in text
    assert (
        f"[chief] chief: refused the end of trial {target} from worker2: left out hyperparameters alpha"
        in text
    )
    assert re.search(r"\[chief\] chief: cut off GetSpace from \S+: no message within 10 s", text)
    assert (
        "[chief] chief: refused worker2's new hyperparameters evil: the search space is the chief's" in text
    )
    assert (
        f"[chief] chief: refused worker2's update of trial {target}: it does not report val_accuracy" in text
    )
    assert re.search(r"\[chief\] chief: refused GetSpace from \S+: no valid search token", text)
    table = _table(tmp_path)
    assert len(table) == 3 and (table["status"] == "COMPLETED").all()
    assert table.set_index("trial_id").loc[int(target), "alpha"] == alpha  # the slope it was trained at
    # Trained again from its first epoch by whoever took it next, not by the stopped process.
    assert (tmp_path / "saved_models" / "alpha-digits" / "best" / "saved_model.pb").exists()
    # Each process's TensorBoard events in a folder of its own: the stopped one's and the rerun's
    # curves of that trial are two runs, not one folder written twice.
    # (An event file's name ends in its writer's host, pid and a count.)
    events = list((tmp_path / "runs" / "alpha-digits" / "tensorboard").glob(f"*/{stopped}/**/events.out.*"))
    writers = {}
    for path in events:
        writers.setdefault(path.parent, set()).add(path.name.split(".")[-3])
    assert {str(pid)} in writers.values(), events  # the stopped process wrote its epochs
    assert all(len(pids) == 1 for pids in writers.values()), writers


def test_workers_stop_soon_after_the_chief_dies_and_its_token_file_goes_with_it(tmp_path):
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = [*SEARCH, "--max-trials", "3", "--epochs", "10"]
    # The chief on every interface without TLS, as the README advises against: only with
    # --insecure, and it says so in one line.
    chief = _start(
        [*common, "--role", "chief", "--oracle-address", f"0.0.0.0:{port}", "--insecure"], tmp_path
    )
    worker = _start(
        [
            *common,
            "--oracle-address",
            address,
            "--role",
            "worker",
            "--worker-id",
            "a",
            "--chief-timeout",
            "5",
        ],
        tmp_path,
    )
    _wait_for_line(worker, r"trial \d+ \(of 3\)")
    token_file = tmp_path / "runs" / "alpha-digits" / "chief.token"
    assert token_file.exists()
    # kill's default signal: the chief ends as Ctrl-C ends it, and its secret's file goes too.
    os.kill(chief.pid, signal.SIGTERM)
    start = time.monotonic()
    assert worker.wait(timeout=120) == 2
    assert time.monotonic() - start < 60  # its trial, then 5 s of waiting
    assert "error: no answer from the chief at " + address in worker.stdout.read()
    assert chief.wait(timeout=30) == 128 + signal.SIGTERM
    assert not token_file.exists()
    assert (
        f"warning: --insecure: the chief serves the oracle at 0.0.0.0:{port} without TLS; anyone"
        in chief.stdout.read()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "-1"], r"error: --workers must be between 0 and \d+, got -1$"),
        (["--role", "chief"], r"error: --role chief needs --oracle-address HOST:PORT"),
        (
            ["--role", "chief", "--oracle-address", "nowhere"],
            r"error: --oracle-address must be HOST:PORT, got 'nowhere'",
        ),
        (
            ["--role", "worker", "--oracle-address", "127.0.0.1:1"],
            r"error: --role worker needs a --worker-id",
        ),
        (
            ["--workers", "2", "--role", "chief", "--oracle-address", "127.0.0.1:5"],
            r"error: --workers starts its own chief and workers",
        ),
    ],
)
def test_bad_distributed_input_is_one_error_line(tmp_path, args, message, capsys):
    assert_one_error_line(cli_in_process([*SEARCH, *args], tmp_path, capsys), message)


def test_a_busy_address_and_an_absent_chief_are_one_error_line(tmp_path, capsys, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli_in_process(
            [*SEARCH, "--role", "chief", "--oracle-address", f"127.0.0.1:{port}"], tmp_path, capsys
        )
        assert_one_error_line(result, rf"error: --oracle-address 127.0.0.1:{port} cannot be served")
    absent = [*SEARCH, "--role", "worker", "--worker-id", "w", "--chief-timeout", "2"]
    absent += ["--oracle-address", f"127.0.0.1:{_free_port()}"]
    # No chief has written its token file: the worker says so, after --chief-timeout.
    assert_one_error_line(
        cli_in_process(absent, tmp_path, capsys),
        r"error: no search token at runs/alpha-digits/chief\.token within 2 s: start the chief first, "
        r"copy its token file here \(--token-file\), or set KERAS_LRELU_SEARCH_TOKEN$",
    )
    monkeypatch.setenv("KERAS_LRELU_SEARCH_TOKEN", "b" * 64)
    result = cli_in_process(
        [
            *SEARCH,
            "--role",
            "worker",
            "--worker-id",
            "w",
            "--chief-timeout",
            "2",
            "--oracle-address",
            f"127.0.0.1:{_free_port()}",
        ],
        tmp_path,
        capsys,
    )
    assert_one_error_line(result, r"error: no answer from the chief at 127\.0\.0\.1:\d+ within 2 s")
    assert not (tmp_path / "saved_models").exists()


def test_bad_token_input_is_one_error_line_and_loses_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_LRELU_SEARCH_TOKEN", raising=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    notes.chmod(0o600)
    chief = [*SEARCH, "--role", "chief", "--oracle-address", "127.0.0.1:5"]
    worker = [*SEARCH, "--role", "worker", "--worker-id", "w", "--oracle-address", "127.0.0.1:5"]
    worker += ["--chief-timeout", "1"]
    shared = tmp_path / "shared.token"
    shared.write_text("a" * 64 + "\n")
    shared.chmod(0o644)
    junk = tmp_path / "junk.token"
    junk.write_text("not a token\n")
    junk.chmod(0o600)
    cases = [
        (["--token-file", "t"], r"error: --token-file goes with --role chief or --role worker"),
        (
            [*chief, "--token-file", str(notes)],
            r"error: .*notes\.txt holds no search token .*replaces only a previous token file",
        ),
        (
            [*worker, "--token-file", str(shared)],
            rf"error: the token file {shared} can be read by other users \(mode 644\); chmod 600",
        ),
        (
            [*worker, "--token-file", str(junk)],
            r"error: .*junk\.token holds no search token \(32 to 1024 letters",
        ),
        ([*SEARCH, "--trial-timeout", "0"], r"error: --trial-timeout must be"),
    ]
    for args, message in cases:
        assert_one_error_line(
            cli_in_process([*SEARCH, *args] if args[0] != "search" else args, tmp_path, capsys), message
        )
    assert notes.read_text() == "my notes\n"
    monkeypatch.setenv("KERAS_LRELU_SEARCH_TOKEN", "short")
    assert_one_error_line(
        cli_in_process(worker, tmp_path, capsys), r"error: \$KERAS_LRELU_SEARCH_TOKEN holds no search token"
    )


def test_a_corrupt_workers_record_is_one_error_line_and_is_kept(tmp_path, capsys):
    project = tmp_path / "runs" / "alpha-digits"
    project.mkdir(parents=True)
    (project / "workers.json").write_text('{"0": "worker1", "1": "wor')
    result = cli_in_process([*SEARCH, "--max-trials", "1", "--epochs", "1"], tmp_path, capsys)
    assert_one_error_line(result, r"error: .*workers\.json cannot be read \(.*\); restore it, or delete it")
    assert (project / "workers.json").read_text() == '{"0": "worker1", "1": "wor'
    assert not (tmp_path / "saved_models").exists()


def test_the_workers_record_survives_a_rewrite(tmp_path):
    from tuning.cluster import assignments

    assignments.record(str(tmp_path), 0, "worker1")
    assignments.record(str(tmp_path), 1, "worker2")
    assert assignments.read(str(tmp_path)) == {"0": "worker1", "1": "worker2"}
    assert os.listdir(tmp_path) == ["workers.json"]


def test_a_worker_that_keeps_dying_stops_the_chief_instead_of_hanging(tmp_path):
    launcher = _start([*SEARCH, "--max-trials", "2", "--epochs", "1", "--workers", "1"], tmp_path)
    chief, starts, output = None, 0, []
    hang = threading.Timer(180, os.killpg, (launcher.pid, signal.SIGKILL))  # fail, not hang
    hang.start()
    for line in launcher.stdout:  # ends when the launcher has exited
        output.append(line)
        started = re.search(r"^\[launcher\] (\w+) started, pid (\d+)", line)
        if started and started.group(1) == "chief":
            chief = int(started.group(2))
        elif started:
            os.kill(int(started.group(2)), signal.SIGKILL)
            starts += 1
    hang.cancel()
    assert launcher.wait(timeout=60) == 1, "".join(output[-20:])
    assert starts == 4, "started, then restarted three times"
    assert output[-1] == (
        "error: no worker left: worker1 (exit code -9) kept dying (3 restarts each); "
        "stopped the chief. Rerun the same command to resume\n"
    )
    with pytest.raises(ProcessLookupError):
        os.kill(chief, 0)  # no chief left serving


class _Process:
    """A stand-in for a Popen: exits with `code` after `seconds`."""

    def __init__(self, code, seconds):
        self.code, self.end, self.returncode, self.signalled = code, time.monotonic() + seconds, None, False

    def poll(self):
        if self.returncode is None and time.monotonic() >= self.end:
            self.returncode = self.code
        return self.returncode

    def wait(self, timeout=None):
        if timeout is not None and time.monotonic() + timeout < self.end:
            time.sleep(timeout)
            raise subprocess.TimeoutExpired("process", timeout)
        time.sleep(max(0.0, self.end - time.monotonic()))
        return self.poll()

    def terminate(self):
        self.signalled, self.code, self.end = True, -15, time.monotonic()

    kill = terminate


def test_a_chief_still_exporting_after_its_workers_finished_is_waited_for(monkeypatch):
    from tuning.cluster import launcher
    from tuning.settings import SearchSettings

    # The workers are told there is no more work and exit 0; the chief then writes
    # its table and a slow export (all five formats), far past STOP_SECONDS.
    monkeypatch.setattr(launcher, "STOP_SECONDS", 0.2)
    chief, workers = _Process(0, 2.0), [_Process(0, 0.1), _Process(0, 0.3)]
    started = iter([chief, *workers])
    monkeypatch.setattr(launcher, "_start", lambda command, env, name, pass_fds=(): next(started))
    assert launcher.launch(SearchSettings(argv=("--dataset", "digits"), workers=2)) == 0
    assert not chief.signalled
    # A worker that died (and was restarted up to RESTARTS times) still stops a waiting chief.
    monkeypatch.setattr(launcher, "RESTARTS", 0)
    chief, workers = _Process(0, 60.0), [_Process(0, 0.1), _Process(-9, 0.1)]
    started = iter([chief, *workers])
    with pytest.raises(launcher.SearchStopped, match=r"no worker left: worker2 \(exit code -9\) kept dying"):
        launcher.launch(SearchSettings(argv=("--dataset", "digits"), workers=2))
    assert chief.signalled


def test_the_launcher_ends_its_chief_when_it_is_interrupted(tmp_path):
    # As started from a terminal, where Ctrl-C works. A background job of a script (a CI
    # runner's, say) inherits SIGINT ignored, and Python then leaves it ignored.
    launcher = _start(
        [*SEARCH, "--max-trials", "2", "--epochs", "30", "--workers", "1"],
        tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    chief = int(_wait_for_line(launcher, r"^\[launcher\] chief started, pid (\d+)").group(1))
    _wait_for_line(launcher, r"^\[chief\] chief: serving the oracle")
    launcher.send_signal(signal.SIGINT)  # Ctrl-C, sent to the launcher alone
    assert launcher.wait(timeout=60) == 130
    with pytest.raises(ProcessLookupError):
        os.kill(chief, 0)


def _certificates(folder):
    """A CA, a chief certificate for 127.0.0.1 and a worker certificate
    signed by it, and a second CA with a worker of its own, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def issue(name, signer=None, ca=False, ip=None):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        issuer_name, issuer_key = signer or (subject, key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ip:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False
            )
        cert = builder.sign(issuer_key, hashes.SHA256())
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return subject, key

    ca = issue("ca", ca=True)
    issue("chief", ca, ip="127.0.0.1")
    issue("worker", ca)
    other = issue("other_ca", ca=True)
    issue("rogue", other)
    return {name: str(folder / name) for name in os.listdir(folder)}


def _can_read_the_search(address, monkeypatch, credentials, token):
    """Whether a client with these gRPC credentials (None: no TLS) and the
    search's token gets the search space from the chief."""
    import types

    import grpc

    from keras_lrelu import _compat as compat
    from tuning.cluster import guard

    host, port = address.split(":")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", host)
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", port)
    client = types.SimpleNamespace()
    compat.connect_client(client, guard.client_metadata(token, "reader"), credentials)
    try:
        client.stub.GetSpace(compat._keras_tuner("protos").get_service().GetSpaceRequest(), timeout=5)
        return True
    except grpc.RpcError:
        return False


def test_chief_and_workers_started_by_hand_over_mutual_tls(tmp_path, monkeypatch):
    """As on several hosts: a chief and a worker started separately, and
    only clients with a certificate of the chief's CA can read the search.
    (One worker: two sharing a search are the --workers test's, and each
    worker's connection is the same code.)"""
    from tuning.cluster.tls import TLS

    pem = _certificates(tmp_path)
    read = {name: open(path, "rb").read() for name, path in pem.items()}
    address = f"127.0.0.1:{_free_port()}"
    common = [*SEARCH, "--max-trials", "3", "--epochs", "2", "--oracle-address", address]
    chief = _start(
        [
            *common,
            "--role",
            "chief",
            "--tls-cert",
            pem["chief.pem"],
            "--tls-key",
            pem["chief.key"],
            "--tls-ca",
            pem["ca.pem"],
        ],
        tmp_path,
    )
    try:
        _wait_for_line(chief, r"chief: serving the oracle at 127\.0\.0\.1:\d+ over TLS")
        token = (tmp_path / "runs" / "alpha-digits" / "chief.token").read_text().strip()
        refused = {
            "no TLS": None,
            "another CA": TLS(
                read["rogue.pem"], read["rogue.key"], read["other_ca.pem"]
            ).channel_credentials(),
            "no worker certificate": TLS(ca=read["ca.pem"]).channel_credentials(),
            "a worker certificate of another CA": TLS(
                read["rogue.pem"], read["rogue.key"], read["ca.pem"]
            ).channel_credentials(),
        }
        for name, credentials in refused.items():
            assert not _can_read_the_search(address, monkeypatch, credentials, token), name
        worker_tls = TLS(read["worker.pem"], read["worker.key"], read["ca.pem"])
        assert not _can_read_the_search(address, monkeypatch, worker_tls.channel_credentials(), "0" * 64)
        assert _can_read_the_search(address, monkeypatch, worker_tls.channel_credentials(), token)
        worker = _start(
            [
                *common,
                "--role",
                "worker",
                "--worker-id",
                "a",
                "--tls-ca",
                pem["ca.pem"],
                "--tls-cert",
                pem["worker.pem"],
                "--tls-key",
                pem["worker.key"],
            ],
            tmp_path,
        )
        assert worker.wait(timeout=300) == 0, worker.stdout.read()[-2000:]
        assert chief.wait(timeout=120) == 0
    finally:
        chief.kill()
    table = _table(tmp_path)
    assert len(table) == 3 and set(table["worker"]) == {"a"} and (table["status"] == "COMPLETED").all()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "chief.example"])
def test_a_chief_beyond_loopback_without_mutual_tls_is_refused(tmp_path, host, capsys):
    """Any client that reaches the chief could read and steer the search:
    off loopback it needs worker certificates (--tls-ca) or --insecure."""
    address = f"[{host}]:8000" if ":" in host else f"{host}:8000"
    result = cli_in_process([*SEARCH, "--role", "chief", "--oracle-address", address], tmp_path, capsys)
    assert_one_error_line(
        result,
        re.escape(
            f"error: the chief would serve {address} without TLS: any client "
            "that reaches it could read the search"
        ),
    )
    pem = _certificates(tmp_path)
    result = cli_in_process(
        [
            *SEARCH,
            "--role",
            "chief",
            "--oracle-address",
            address,
            "--tls-cert",
            pem["chief.pem"],
            "--tls-key",
            pem["chief.key"],
        ],
        tmp_path,
        capsys,
    )
    assert_one_error_line(
        result, re.escape(f"error: the chief would serve {address} with TLS but no worker certificates")
    )
    assert not (tmp_path / "runs").exists()


def test_exposure_policy():
    from tuning.cluster.tls import TLS
    from tuning.cluster.tls import check_exposure

    for host in ("127.0.0.1", "127.8.0.1", "::1", "localhost"):
        assert check_exposure(host, 8000, None, insecure=False) is None
    assert check_exposure("10.0.0.5", 8000, TLS(b"c", b"k", b"ca"), insecure=False) is None
    assert check_exposure("0.0.0.0", 8000, None, insecure=True) == (
        "warning: --insecure: the chief serves the oracle at 0.0.0.0:8000 without TLS; anyone who reaches "
        "the port can read the search and report trials"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--tls-cert", "c.pem", "--tls-key", "k.pem"],
            r"error: --tls-cert, --tls-key and --tls-ca go with --role",
        ),
        (["--role", "chief", "--tls-cert", "c.pem"], r"error: --tls-cert and --tls-key go together"),
        (
            ["--role", "chief", "--tls-ca", "ca.pem"],
            r"error: --role chief serves TLS with --tls-cert and --tls-key",
        ),
        (
            ["--role", "worker", "--worker-id", "a", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
            r"error: --role worker needs --tls-ca, the CA that signed the chief's certificate",
        ),
        (
            ["--role", "worker", "--worker-id", "a", "--tls-ca", "missing.pem"],
            r"error: cannot read --tls-ca missing\.pem: No such file or directory",
        ),
        (
            ["--role", "worker", "--worker-id", "a", "--tls-ca", "plain.txt"],
            r"error: --tls-ca plain\.txt is not a PEM file",
        ),
    ],
)
def test_bad_tls_input_is_one_error_line(tmp_path, args, message, capsys):
    (tmp_path / "plain.txt").write_text("not a certificate")
    result = cli_in_process([*SEARCH, "--oracle-address", "127.0.0.1:5", *args], tmp_path, capsys)
    assert_one_error_line(result, message)


def _stub(address):
    """A raw client of the chief's gRPC service: what anyone who reaches the
    port can run, with no worker's code in between."""
    import grpc

    from keras_lrelu import _compat as compat

    protos = compat._keras_tuner("protos")
    return protos.get_service_grpc().OracleStub(grpc.insecure_channel(address)), protos.get_service()


class _Lines:
    """A process's output lines, read as they come (a thread), to wait on."""

    def __init__(self, process):
        self.lines, self._process = [], process
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self._process.stdout:
            self.lines.append(line)

    def wait_for(self, pattern, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            time.sleep(0.1)
        raise AssertionError(f"never printed {pattern!r}; printed:\n{''.join(self.lines)[-3000:]}")

    def text(self):
        return "".join(self.lines)


def _code(call):
    """The gRPC status code a call ends with (OK if it succeeds)."""
    import grpc

    try:
        call()
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def test_only_the_search_s_workers_drive_its_chief_and_a_silent_one_is_forgotten(tmp_path):
    """A chief on loopback, as on a machine several users share:
    - a stranger (no token, or a wrong one) is refused every call with
      UNAUTHENTICATED, each in one line of the chief's;
    - a client with the token (a worker gone bad) cannot take trials under
      another name, add a hyperparameter, end a trial it does not hold, or
      end its own with other hyperparameters; the val_accuracy 1.0 it
      reports is not in the table;
    - it then goes silent holding trial 0: after --trial-timeout the chief
      hands trial 0 back to the queue, a real worker trains it, a late
      report is refused with one line, and the search ends with its export."""
    import grpc
    import keras_tuner as kt

    from tuning.cluster import guard

    address = f"127.0.0.1:{_free_port()}"
    common = [*SEARCH, "--tuner", "grid", "--modes", "relu,fixed", "--max-trials", "3", "--epochs", "1"]
    common += ["--oracle-address", address]
    # Generous beside an epoch here (under a second), for a loaded machine.
    chief = _start([*common, "--role", "chief", "--trial-timeout", "20"], tmp_path)
    try:
        output = _Lines(chief)
        token_file = output.wait_for(r"with the token in (\S+) \(yours only\)").group(1)
        output.wait_for(r"chief: serving the oracle")
        token = (tmp_path / token_file).read_text().strip()
        assert len(token) == 64 and oct((tmp_path / token_file).stat().st_mode & 0o777) == "0o600"
        stub, service = _stub(address)

        def calls(metadata):
            space = kt.HyperParameters()
            space.Choice("evil", ["../../x"])
            trial = kt.engine.trial.Trial(space, trial_id="0", status="COMPLETED")
            return {
                "GetSpace": lambda: stub.GetSpace(service.GetSpaceRequest(), metadata=metadata, timeout=10),
                "CreateTrial": lambda: stub.CreateTrial(
                    service.CreateTrialRequest(tuner_id="rogue"), metadata=metadata, timeout=10
                ),
                "UpdateTrial": lambda: stub.UpdateTrial(
                    service.UpdateTrialRequest(trial_id="0", metrics={"val_accuracy": 1.0}),
                    metadata=metadata,
                    timeout=10,
                ),
                "EndTrial": lambda: stub.EndTrial(
                    service.EndTrialRequest(trial=trial.to_proto()), metadata=metadata, timeout=10
                ),
                "UpdateSpace": lambda: stub.UpdateSpace(
                    service.UpdateSpaceRequest(hyperparameters=space.to_proto()),
                    metadata=metadata,
                    timeout=10,
                ),
            }

        for metadata in ((), guard.client_metadata("f" * 64, "rogue")):
            assert {name: _code(call) for name, call in calls(metadata).items()} == dict.fromkeys(
                calls(()), "UNAUTHENTICATED"
            )
        insider = calls(guard.client_metadata(token, "intruder"))
        assert _code(insider["CreateTrial"]) == "PERMISSION_DENIED"  # as "rogue", not itself
        assert _code(insider["UpdateSpace"]) == "INVALID_ARGUMENT"
        assert _code(insider["EndTrial"]) == "PERMISSION_DENIED"  # trial 0 is not its own
        holder = guard.client_metadata(token, "holder")
        own = stub.CreateTrial(
            service.CreateTrialRequest(tuner_id="holder"), metadata=holder, timeout=10
        ).trial
        forged = kt.engine.trial.Trial.from_proto(own)
        forged.status = "COMPLETED"
        forged.hyperparameters.values["filters"] = 33  # the grid does not hold it
        # The space widened under a condition inactive for the trial, an update without the
        # objective, and three calls that never send their message: each refused, none holding
        # the chief (a relabelled trial, and each of these in detail: the in-process tests below).
        widened = kt.engine.trial.Trial.from_proto(own)
        widened.status = "COMPLETED"
        with widened.hyperparameters.conditional_scope("mode", ["no such mode"]):
            widened.hyperparameters.Choice("evil", ["../../x"])
        stalled = grpc.insecure_channel(address).stream_unary("/keras_tuner.Oracle/GetSpace", bytes, bytes)
        release = threading.Event()
        never = lambda: iter(lambda: release.wait() and None, None)  # noqa: E731
        stalls = [stalled.future(never()) for _ in range(3)]
        assert [
            _code(
                lambda t=trial: stub.EndTrial(
                    service.EndTrialRequest(trial=t.to_proto()), metadata=holder, timeout=10
                )
            )
            for trial in (forged, widened)
        ] == ["INVALID_ARGUMENT"] * 2
        no_objective = service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"loss": 0.1})
        assert (
            _code(lambda: stub.UpdateTrial(no_objective, metadata=holder, timeout=10)) == "INVALID_ARGUMENT"
        )
        assert [call.exception(timeout=10).code().name for call in stalls] == ["UNAUTHENTICATED"] * 3
        release.set()
        stub.UpdateTrial(
            service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"val_accuracy": 1.0}),
            metadata=holder,
            timeout=10,
        )
        worker = _start([*common, "--role", "worker", "--worker-id", "a"], tmp_path)
        output.wait_for(
            rf"chief: holder sent nothing for 20 s \(--trial-timeout\); trial {own.trial_id} goes back to the queue"
        )
        late = lambda: stub.UpdateTrial(  # noqa: E731
            service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"val_accuracy": 1.0}),
            metadata=holder,
            timeout=10,
        )
        assert _code(late) == "FAILED_PRECONDITION"
        assert worker.wait(timeout=300) == 0, worker.stdout.read()[-2000:]
        assert chief.wait(timeout=120) == 0
        time.sleep(0.5)
    finally:
        chief.kill()
    text = output.text()
    refused = re.findall(r"chief: refused (\w+) from ipv4:127\.0\.0\.1:\d+: no valid search token", text)
    assert sorted(refused) == sorted(
        2 * ["GetSpace", "CreateTrial", "UpdateTrial", "EndTrial", "UpdateSpace"] + 3 * ["GetSpace"]
    )
    assert "chief: intruder asked for a trial as 'rogue'; a worker takes trials for itself only" in text
    assert "chief: refused intruder's new hyperparameters evil: the search space is the chief's" in text
    assert (
        f"chief: refused the end of trial {own.trial_id} from holder: changed hyperparameters filters=33"
        in text
    )
    assert f"chief: ignored a late result for trial {own.trial_id} from holder: it was handed back" in text
    assert "chief: refused holder's new hyperparameters evil: the search space is the chief's" in text
    assert f"chief: refused holder's update of trial {own.trial_id}: it does not report val_accuracy" in text
    assert "chief: refused 20 call(s) in all" in text
    table = _table(tmp_path)
    assert len(table) == 3 and (table["status"] == "COMPLETED").all() and set(table["worker"]) == {"a"}
    assert (table["val_accuracy"] < 1.0).all() and (table["repeats"] == 1).all()
    assert "exported: saved_models/alpha-digits/best" in text
    assert not (tmp_path / token_file).exists()  # the chief's secret goes with it


def test_a_worker_refuses_a_trial_id_that_is_not_a_number(tmp_path, capsys, monkeypatch):
    """A fake chief (a gRPC server of the same service) hands out trial
    `../../escaped`: the worker stops with one line, and writes nothing
    outside its --directory."""
    from concurrent import futures

    import grpc
    import keras_tuner as kt

    from keras_lrelu import _compat as compat
    from tuning.search.hypermodel import LeakyCNN

    protos = compat._keras_tuner("protos")
    service = protos.get_service()
    space = kt.HyperParameters()
    LeakyCNN((8, 8, 1), 10)._choose(space)

    class FakeChief(protos.get_service_grpc().OracleServicer):
        def GetSpace(self, request, context):
            return service.GetSpaceResponse(hyperparameters=space.to_proto())

        def UpdateSpace(self, request, context):
            return service.UpdateSpaceResponse()

        def CreateTrial(self, request, context):
            trial = kt.engine.trial.Trial(space, trial_id="../../escaped", status="RUNNING")
            return service.CreateTrialResponse(trial=trial.to_proto())

    monkeypatch.setenv("KERAS_LRELU_SEARCH_TOKEN", "a" * 32)  # the fake chief checks none
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    protos.get_service_grpc().add_OracleServicer_to_server(FakeChief(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    try:
        result = cli_in_process(
            [*SEARCH, "--role", "worker", "--worker-id", "w", "--oracle-address", f"127.0.0.1:{port}"],
            work,
            capsys,
        )
    finally:
        server.stop(grace=None)
    assert_one_error_line(
        result,
        re.escape(
            "error: the chief sent trial id '../../escaped', not a number; a worker names folders after trial ids"
        ),
    )
    assert sorted(p.name for p in tmp_path.rglob("*escaped*")) == []


@contextlib.contextmanager
def _guarded_chief(tmp_path, **options):
    """The chief's guarded servicer over a real oracle of the CNN's space,
    served on loopback in this process as the chief serves it (one
    thread); yields (oracle, address, the chief's lines, its guard)."""
    from concurrent import futures

    import grpc
    import keras_tuner as kt

    from keras_lrelu import _compat as compat
    from tuning.cluster import guard
    from tuning.cluster.servicer import guarded_servicer
    from tuning.search.hypermodel import LeakyCNN

    hypermodel = LeakyCNN((8, 8, 1), 10)
    space = kt.HyperParameters()
    hypermodel._choose(space)
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("val_accuracy", "max"), max_trials=3, seed=0
    )
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.update_space(space)
    lines = []
    log = lambda line, flush: lines.append(line)  # noqa: E731
    options = {"trial_timeout": 60, **options}
    checks = guard.Guard(oracle, "t" * 64, outside_space=hypermodel.outside_space, log=log, **options)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), interceptors=[checks])
    compat.add_oracle_service(
        guarded_servicer(compat.oracle_servicer_class(), oracle, checks, oracle.get_space), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield oracle, f"127.0.0.1:{port}", lines, checks
    finally:
        server.stop(grace=None)


def test_a_call_that_never_sends_its_message_holds_nothing(tmp_path):
    """As the port is in every local user's `ps`: a stranger opens calls
    and never sends their message; they are refused at once, without
    waiting for it. A secret holder doing the same is cut off after the
    read timeout. Meanwhile a worker's calls are answered."""
    import grpc

    from tuning.cluster import guard

    release = threading.Event()

    def never():
        release.wait()
        yield from ()

    with _guarded_chief(tmp_path, read_timeout=1) as (oracle, address, lines, _):
        channel = grpc.insecure_channel(address)
        stalled = channel.stream_unary("/keras_tuner.Oracle/GetSpace", lambda x: x, lambda x: x)
        stranger = [stalled.future(never()) for _ in range(3)]
        insider = stalled.future(never(), metadata=guard.client_metadata("t" * 64, "insider"))
        stub, service = _stub(address)
        worker = guard.client_metadata("t" * 64, "worker")
        start = time.monotonic()
        for _ in range(3):
            stub.GetSpace(service.GetSpaceRequest(), metadata=worker, timeout=10)
        assert time.monotonic() - start < 5  # at most the insider's second, under load
        assert [call.exception(timeout=10).code().name for call in stranger] == ["UNAUTHENTICATED"] * 3
        assert insider.exception(timeout=10).code().name == "DEADLINE_EXCEEDED"
        release.set()
    assert len([line for line in lines if "GetSpace" in line and "no valid search token" in line]) == 3
    assert [line for line in lines if line.startswith("chief: cut off")] == [
        next(
            line
            for line in lines
            if re.fullmatch(r"chief: cut off GetSpace from \S+: no message within 1 s", line)
        )
    ]


def test_a_secret_holder_cannot_relabel_widen_or_lock_the_chief(tmp_path):
    """The chief's real guarded servicer and a real oracle, on loopback, in
    this process; a caller with the token and the trial:
    - ends it with `alpha` left out: refused (the oracle would have drawn a
      new slope for weights trained at the handed one);
    - ends it with a space adding `evil` under a condition inactive for it:
      refused, the space unchanged;
    - updates it without the objective, or ends it with a status KerasTuner
      does not take: refused, and the oracle's lock is free after each;
    - then ends it properly: with the values the chief handed out, even
      where the call says otherwise about what the chief never holds."""
    import keras_tuner as kt

    from keras_lrelu import _compat as compat
    from tuning.cluster import guard

    with _guarded_chief(tmp_path) as (oracle, address, lines, _):
        stub, service = _stub(address)
        oracle_module = compat._keras_tuner("engine.oracle")
        holder = guard.client_metadata("t" * 64, "holder")
        # The first draw that holds a slope: the trial the forgeries are about.
        while True:
            own = stub.CreateTrial(
                service.CreateTrialRequest(tuner_id="holder"), metadata=holder, timeout=10
            ).trial
            handed = kt.engine.trial.Trial.from_proto(own)
            if "alpha" in handed.hyperparameters.values and handed.hyperparameters.values["mode"] != "relu":
                break
            handed.status = "COMPLETED"
            stub.UpdateTrial(
                service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"val_accuracy": 0.5}),
                metadata=holder,
                timeout=10,
            )
            stub.EndTrial(service.EndTrialRequest(trial=handed.to_proto()), metadata=holder, timeout=10)
        alpha = handed.hyperparameters.values["alpha"]

        def end(trial):
            return _code(
                lambda: stub.EndTrial(
                    service.EndTrialRequest(trial=trial.to_proto()), metadata=holder, timeout=10
                )
            )

        relabelled = kt.engine.trial.Trial.from_proto(own)
        relabelled.status = "COMPLETED"
        del relabelled.hyperparameters.values["alpha"]
        widened = kt.engine.trial.Trial.from_proto(own)
        widened.status = "COMPLETED"
        with widened.hyperparameters.conditional_scope("mode", ["no such mode"]):
            widened.hyperparameters.Choice("evil", ["../../x"])
        bad_status = kt.engine.trial.Trial.from_proto(own)
        bad_status.status = "RUNNING"
        no_objective = lambda: stub.UpdateTrial(  # noqa: E731
            service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"loss": 0.1}),
            metadata=holder,
            timeout=10,
        )
        assert [end(relabelled), end(widened), end(bad_status), _code(no_objective)] == [
            "INVALID_ARGUMENT"
        ] * 4
        assert oracle_module.LOCKS[oracle].acquire(timeout=5)  # free: no call left it held
        oracle_module.LOCKS[oracle].release()
        assert "evil" not in {hp.name for hp in oracle.get_space().space}
        stub.UpdateTrial(
            service.UpdateTrialRequest(trial_id=own.trial_id, metrics={"val_accuracy": 0.75}),
            metadata=holder,
            timeout=10,
        )
        handed.status = "COMPLETED"
        assert end(handed) == "OK"
    ended = oracle.trials[own.trial_id]
    assert ended.status == "COMPLETED" and ended.hyperparameters.values["alpha"] == alpha
    assert ended.score == 0.75
    assert lines == [
        f"chief: refused the end of trial {own.trial_id} from holder: left out hyperparameters alpha",
        "chief: refused holder's new hyperparameters evil: the search space is the chief's",
        f"chief: refused the end of trial {own.trial_id} from holder: status 'RUNNING' "
        "(one of COMPLETED, INVALID, FAILED)",
        f"chief: refused holder's update of trial {own.trial_id}: it does not report val_accuracy",
    ]


def test_a_holder_that_sends_nothing_about_its_trial_is_forgotten_within_a_minute(tmp_path):
    """A secret holder takes a trial and then only asks for trials or the
    space again, however often: after HOLDER_SILENCE (60 s, not the hour of
    --trial-timeout) its trial goes back to the queue, while a worker that
    asks about the trial it holds, and an idle one, are kept; the idle one
    takes the trial, and the squatter's next call about it is refused."""
    from tuning.cluster import guard

    with _guarded_chief(tmp_path, trial_timeout=3600) as (oracle, address, lines, checks):
        stub, service = _stub(address)
        calls = {name: guard.client_metadata("t" * 64, name) for name in ("squatter", "worker", "idle")}

        def create(name):
            return stub.CreateTrial(
                service.CreateTrialRequest(tuner_id=name), metadata=calls[name], timeout=10
            ).trial

        squatted, held = create("squatter"), create("worker")
        start = time.monotonic()
        time.sleep(1.0)
        create("squatter")  # its own trial again: keeps nothing
        stub.GetSpace(service.GetSpaceRequest(), metadata=calls["squatter"], timeout=10)
        stub.GetTrial(service.GetTrialRequest(trial_id=held.trial_id), metadata=calls["worker"], timeout=10)
        stub.GetSpace(service.GetSpaceRequest(), metadata=calls["idle"], timeout=10)
        assert checks.forget_silent(now=start + guard.HOLDER_SILENCE - 0.5) == []
        assert checks.forget_silent(now=start + guard.HOLDER_SILENCE + 0.5) == [squatted.trial_id]
        assert create("idle").trial_id == squatted.trial_id
        late = lambda: stub.GetTrial(  # noqa: E731
            service.GetTrialRequest(trial_id=squatted.trial_id), metadata=calls["squatter"], timeout=10
        )
        assert _code(late) == "FAILED_PRECONDITION"
    assert "squatter" not in oracle.tuner_ids and {"worker", "idle"} <= oracle.tuner_ids
    assert lines == [
        f"chief: squatter sent nothing for 60 s (about the trial it holds); trial {squatted.trial_id} goes "
        "back to the queue and squatter is forgotten",
        f"chief: ignored a late result for trial {squatted.trial_id} from squatter: it was handed back "
        "when squatter went silent",
    ]
