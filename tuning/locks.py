"""One search per project and one export per folder at a time.

A lock is a file beside what it guards (`<directory>/.<project>.lock`,
`<export_dir>/.<project>.export.lock`) locked with flock(2): the kernel
drops the lock with the process that held it, so one left by a dead
process (kill -9, a crash, a reboot) blocks nothing. The file names its
holder (pid, host, start, command) for the error a second search prints.
The processes of one search share its lock: a fresh process (execve)
keeps the locked descriptor, and the chief of `--workers N` inherits it
from the launcher; each finds it through LOCK_FD_ENV.
"""

import datetime
import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time

from tuning.errors import UsageError

LOCK_FD_ENV = "KERAS_LRELU_LOCK_FD"
MAX_BYTES = 4096  # what the holder's record may take


class Lock:
    """A held lock; `release()` unlocks and removes its file."""

    def __init__(self, path, descriptor, created_folder=None, owner=True):
        self.path, self.descriptor, self._created_folder = path, descriptor, created_folder
        self.owner = owner  # False: a process that shares the lock of the one that started it

    def release(self):
        if self.descriptor is None:
            return
        try:
            if self.owner and _same_file(self.descriptor, self.path):
                os.remove(self.path)  # while still locked: no other process holds this file
        except OSError:
            pass
        os.close(self.descriptor)
        self.descriptor = None
        if self._created_folder:
            try:
                os.rmdir(self._created_folder)  # only if it is empty: nothing else was made in it
            except OSError:
                pass

    def share(self, owner):
        """The environment entry that lets a process started with this
        descriptor (execve, or Popen's pass_fds) hold the same lock; the
        `owner` (this very process after execve) removes it at the end."""
        os.set_inheritable(self.descriptor, True)
        return {LOCK_FD_ENV: f"{self.descriptor}:{int(owner)}:{self.path}"}


def search_lock(directory, project):
    return os.path.join(directory, f".{project}.lock")


def export_lock(export_dir, project):
    return os.path.join(export_dir, f".{project}.export.lock")


def acquire(path, what, hint, wait_seconds=0.0):
    """Holds the lock at `path` for this process (`what` names it in the
    error, "project runs/p"; `hint` says what to do), waiting up to
    `wait_seconds` for another process to let go; adopts the one this
    process was handed (LOCK_FD_ENV).

    Raises:
        UsageError: naming the live process (pid and host) that holds it.
    """
    inherited = _inherited(path)
    if inherited is not None:
        return Lock(path, *inherited)
    folder = os.path.dirname(os.path.abspath(path))
    created = None if os.path.isdir(folder) else folder
    deadline = time.monotonic() + wait_seconds
    while True:
        descriptor = _open(path, folder)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _holder(descriptor)
            os.close(descriptor)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError(f"cannot lock {path} ({error.strerror}), so {what} is not guarded") from None
            if time.monotonic() >= deadline:
                holder = holder or "another process (its record is being written)"
                raise UsageError(f"{what} is in use by {holder}; {hint}") from None
            time.sleep(0.5)
            continue
        if _same_file(descriptor, path):  # not a file the last holder removed as we opened it
            break
        os.close(descriptor)
    _write_holder(descriptor)
    return Lock(path, descriptor, created)


def _open(path, folder):
    """A descriptor on the lock file `path`, made if need be (its owner's
    only: whoever can open it can hold it). A symbolic link, or anything
    but an empty file or one of these locks' records, is not ours to lock,
    rewrite or delete: UsageError."""
    try:
        os.makedirs(folder, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as error:
        raise UsageError(f"cannot open the lock file {path}: {error.strerror}") from None
    info = os.fstat(descriptor)
    # A second name (hard link) would have the holder's record overwrite another file; a file
    # of another user's, in a folder shared with them, is one they could hold or rewrite.
    if info.st_uid != os.getuid() or info.st_nlink != 1:
        os.close(descriptor)
        whose = "has another name (a hard link)" if info.st_uid == os.getuid() else "belongs to another user"
        raise UsageError(f"{path} {whose}: not a lock file of this suite; move it away (nothing was changed)")
    foreign = not stat.S_ISREG(info.st_mode)
    for _ in range(3 if info.st_size and not foreign else 0):  # a holder may be writing its record
        foreign = _holder(descriptor) is None
        if not foreign:
            break
        time.sleep(0.1)
    if foreign:
        os.close(descriptor)
        raise UsageError(f"{path} is not a lock file of this suite; move it away (nothing was changed)")
    return descriptor


def _inherited(path):
    """(descriptor, None, owner) of the lock on `path` this process was
    handed, or None: the descriptor must be open on that very file."""
    number, _, rest = os.environ.get(LOCK_FD_ENV, "").partition(":")
    owner, _, given_path = rest.partition(":")
    if not number.isdigit() or owner not in ("0", "1") or given_path != path:
        return None
    try:
        return (int(number), None, owner == "1") if _same_file(int(number), path) else None
    except OSError:
        return None


def _same_file(descriptor, path):
    try:
        here, there = os.fstat(descriptor), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _write_holder(descriptor):
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join(sys.argv)[:1000],
    }
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(record).encode(), 0)


def _holder(descriptor):
    """`pid N on host H (since ...)` from the lock file's record, or None
    if it holds none (being written this instant, or not a lock file)."""
    try:
        record = json.loads(os.pread(descriptor, MAX_BYTES, 0).decode())
        host, started = (_printable(str(record[key])) for key in ("host", "started"))
        return f"pid {int(record['pid'])} on {host[:100]} (since {started[:40]})"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _printable(text):
    """`text` with every character a terminal would act on (escape
    sequences, control characters) shown as its escape instead: a lock's
    record is anyone's who could write the file."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
