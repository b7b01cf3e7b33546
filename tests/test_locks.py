"""One search per project, one export per folder (tuning/locks.py), with
real processes holding the locks."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import SUBPROCESS_ENV
from conftest import assert_one_error_line
from conftest import cli_in_process

from tuning import locks
from tuning.errors import UsageError

HOLD = """
import sys, time
from tuning import locks
lock = locks.acquire(sys.argv[1], "project p", "wait")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def _holder(path, seconds=60):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)],
        env=SUBPROCESS_ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "held\n"
    return process


def test_a_held_lock_names_its_process_and_host(tmp_path):
    path = tmp_path / "runs" / ".p.lock"
    holder = _holder(path)
    try:
        with pytest.raises(UsageError) as raised:
            locks.acquire(str(path), "project runs/p", "wait for it")
        assert re.fullmatch(
            rf"project runs/p is in use by pid {holder.pid} on {re.escape(socket.gethostname())} "
            r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\); wait for it",
            str(raised.value),
        )
        assert json.loads(path.read_text())["pid"] == holder.pid  # the holder's record is untouched
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_blocks_nothing(tmp_path):
    path = tmp_path / ".p.lock"
    holder = _holder(path)
    os.kill(holder.pid, signal.SIGKILL)  # no clean-up runs: the file stays, the lock does not
    holder.wait()
    assert path.exists()
    lock = locks.acquire(str(path), "project p", "wait")
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()
    assert os.listdir(tmp_path) == []  # released: the file goes


def test_a_waiting_acquire_gets_the_lock_once_its_holder_ends(tmp_path):
    path = tmp_path / ".p.export.lock"
    holder = _holder(path, seconds=1.5)
    start = time.monotonic()
    lock = locks.acquire(str(path), "export folder p", "rerun", wait_seconds=30)
    assert 0.5 < time.monotonic() - start < 30 and holder.wait(timeout=30) == 0
    lock.release()
    holder = _holder(path)
    try:
        with pytest.raises(UsageError, match=r"export folder p is in use by pid \d+ .*; rerun$"):
            locks.acquire(str(path), "export folder p", "rerun", wait_seconds=1)
    finally:
        holder.kill()
        holder.wait()


def test_what_is_not_a_lock_file_is_refused_and_left_as_it_was(tmp_path):
    notes = tmp_path / ".p.lock"
    notes.write_text("my notes\n")
    os.mkfifo(tmp_path / ".fifo.lock")
    (tmp_path / "target").write_text("kept\n")
    os.symlink(tmp_path / "target", tmp_path / ".link.lock")
    for name, message in (
        (".p.lock", r"\.p\.lock is not a lock file of this suite; move it away \(nothing was changed\)$"),
        (".fifo.lock", r"\.fifo\.lock is not a lock file of this suite"),
        (".link.lock", r"cannot open the lock file .*\.link\.lock: Too many levels of symbolic links$"),
    ):
        with pytest.raises(UsageError, match=message):
            locks.acquire(str(tmp_path / name), "project p", "wait")
    assert notes.read_text() == "my notes\n" and (tmp_path / "target").read_text() == "kept\n"
    assert sorted(os.listdir(tmp_path)) == [".fifo.lock", ".link.lock", ".p.lock", "target"]


def test_a_hard_link_or_another_user_s_file_is_refused_and_a_forged_record_printed_escaped(
    tmp_path, monkeypatch
):
    # A hard link: the holder's record would overwrite the file's other name.
    (tmp_path / "notes").write_text("kept\n")
    os.link(tmp_path / "notes", tmp_path / ".linked.lock")
    with pytest.raises(UsageError, match=r"\.linked\.lock has another name \(a hard link\): not a lock file"):
        locks.acquire(str(tmp_path / ".linked.lock"), "project p", "wait")
    assert (tmp_path / "notes").read_text() == "kept\n"
    # A lock file of another user's (as in a folder shared with them): refused, left as it was.
    record = {"pid": 1, "host": "h", "started": "2026-01-01 00:00:00 UTC", "command": "x"}
    (tmp_path / ".theirs.lock").write_text(json.dumps(record))
    with monkeypatch.context() as patched:
        patched.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
        with pytest.raises(UsageError, match=r"\.theirs\.lock belongs to another user: not a lock file"):
            locks.acquire(str(tmp_path / ".theirs.lock"), "project p", "wait")
    assert json.loads((tmp_path / ".theirs.lock").read_text()) == record
    # A held lock whose record was forged with escape sequences: printed as escapes, not run.
    path = tmp_path / ".p.lock"
    holder = _holder(path)
    try:
        forged = dict(record, pid=holder.pid, host="\x1b[2J\x1b[Hhost", started="now\r\x07")
        path.write_text(json.dumps(forged))
        with pytest.raises(UsageError) as raised:
            locks.acquire(str(path), "project p", "wait")
    finally:
        holder.kill()
        holder.wait()
    assert str(raised.value) == (
        f"project p is in use by pid {holder.pid} on \\x1b[2J\\x1b[Hhost (since now\\r\\x07); wait"
    )


def test_a_lock_file_is_its_owner_s_only(tmp_path):
    lock = locks.acquire(str(tmp_path / ".p.lock"), "project p", "wait")
    assert oct((tmp_path / ".p.lock").stat().st_mode & 0o777) == "0o600"  # else another user could hold it
    lock.release()


def test_a_lock_is_shared_only_through_its_own_descriptor(tmp_path, monkeypatch):
    path = str(tmp_path / ".p.lock")
    lock = locks.acquire(path, "project p", "wait")
    shared = lock.share(owner=False)
    monkeypatch.setenv(locks.LOCK_FD_ENV, shared[locks.LOCK_FD_ENV])
    adopted = locks.acquire(path, "project p", "wait")  # this process holds it: adopted
    assert adopted.descriptor == lock.descriptor and not adopted.owner
    monkeypatch.setenv(locks.LOCK_FD_ENV, f"0:1:{path}")  # a descriptor open on another file
    with pytest.raises(UsageError, match=rf"project p is in use by pid {os.getpid()} "):
        locks.acquire(path, "project p", "wait")
    lock.release()


@pytest.mark.slow
def test_a_second_search_on_a_running_project_is_one_error_line(tmp_path, capsys):
    """As from two terminals: the second search names the first (pid and
    host) and trains and writes nothing, also once the first runs in a
    fresh process (the same pid, the lock kept across execve); the first
    ends as it would have."""
    args = ["search", "--dataset", "digits", "--tuner", "random", "--max-trials", "2", "--epochs", "8"]
    args += ["--export-formats", "saved_model", "--trials-per-process", "1"]
    first = subprocess.Popen(
        [sys.executable, "-m", "tuning", *args],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in first.stdout:
            if "(fresh process)" in line:  # trial 2, in the process that replaced the first
                break
        for again in (args, [*args, "--overwrite"]):  # --overwrite deletes nothing either
            result = cli_in_process(again, tmp_path, capsys)
            assert_one_error_line(
                result,
                rf"error: project runs/alpha-digits is in use by pid {first.pid} on "
                rf"{re.escape(socket.gethostname())} \(since .* UTC\); wait for that search to end, "
                r"or use another --project$",
            )
        first.stdout.read()
        assert first.wait(timeout=300) == 0
    finally:
        first.kill()
    table = pd.read_csv(tmp_path / "runs" / "alpha-digits" / "results.csv")
    assert len(table) == 2 and (table["status"] == "COMPLETED").all()
    assert not (tmp_path / "runs" / ".alpha-digits.lock").exists()
    assert not (tmp_path / "saved_models" / ".alpha-digits.export.lock").exists()
