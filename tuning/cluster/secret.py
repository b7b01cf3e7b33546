"""The search's secret: what every call to the chief carries to prove that
it comes from one of this search's workers.

A chief makes a fresh one (256 random bits) each time it starts, unless
KERAS_LRELU_SEARCH_TOKEN gives one (what `--workers N` does for its
chief and workers, so the secret is on no command line, where `ps` shows
it to every user). Else the chief writes it to its token file (readable by
its owner only), by default `<project>/chief.token`: workers on hosts
that share the project folder read it there; others are given a copy
(`--token-file`) or the variable.
"""

import os
import re
import secrets
import stat
import time

from tuning.errors import UsageError

ENV = "KERAS_LRELU_SEARCH_TOKEN"
FILE_NAME = "chief.token"
MAX_BYTES = 4096
# At least 128 bits: 32 hexadecimal digits, or as many base64url characters.
TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,1024}")


def new():
    """A fresh secret: 64 hexadecimal digits (256 bits)."""
    return secrets.token_hex(32)


def default_path(project_dir):
    return os.path.join(project_dir, FILE_NAME)


def for_chief(project_dir, token_file=None):
    """(the chief's secret, the file it wrote it to or None): the
    environment's if set, else a new one written to `token_file` (default
    `<project>/chief.token`), readable by this user only."""
    if os.environ.get(ENV):
        return _checked(os.environ[ENV], f"${ENV}"), None
    token = new()
    path = token_file or default_path(project_dir)
    check_replaceable(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(token + "\n")
        os.replace(tmp, path)
    except OSError as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise UsageError(f"cannot write the search's token to {path}: {error.strerror}") from None
    return token, path


def check_replaceable(path):
    """UsageError unless `path` is free or a previous chief's token file:
    the chief replaces its token file, and nothing else may be lost so."""
    if not os.path.lexists(path):
        return
    try:
        read(path)
    except UsageError as error:
        raise UsageError(
            f"{error}; the chief writes a new token to its token file, so it replaces only a "
            "previous token file: name a new path with --token-file"
        ) from None


def remove(path, token):
    """Deletes the chief's token file `path` if it still holds `token`."""
    try:
        if read(path) == token:
            os.remove(path)
    except (UsageError, OSError):
        pass  # replaced or gone: not this chief's to delete


def for_worker(project_dir, token_file=None, wait_seconds=60.0):
    """A worker's copy of the secret: the environment's if set, else the
    token file's (default `<project>/chief.token`), waiting up to
    `wait_seconds` for the chief to write it.

    Raises:
        UsageError: for no file in time, one that others can read, or one
            that holds no token.
    """
    if os.environ.get(ENV):
        return _checked(os.environ[ENV], f"${ENV}")
    path = token_file or default_path(project_dir)
    deadline = time.monotonic() + wait_seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise UsageError(
                f"no search token at {path} within {wait_seconds:g} s: start the chief first, copy its "
                f"token file here (--token-file), or set {ENV}"
            )
        time.sleep(0.25)
    return read(path)


def read(path):
    """The token in file `path`, which only its owner may read."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"cannot read the token file {path}: not a regular file")
        if info.st_mode & 0o077:
            raise UsageError(
                f"the token file {path} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"chmod 600 {path}"
            )
        if info.st_size > MAX_BYTES:
            raise UsageError(f"the token file {path} is over {MAX_BYTES} bytes; not a search token")
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read(MAX_BYTES)
    except OSError as error:
        raise UsageError(f"cannot read the token file {path}: {error.strerror}") from None
    return _checked(text, path)


def _checked(text, source):
    token = text.strip()
    if not TOKEN.fullmatch(token):
        raise UsageError(
            f"{source} holds no search token (32 to 1024 letters, digits, '-' or '_'; make one with "
            "python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return token
