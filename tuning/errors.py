"""The errors the command line prints as one `error: ...` line. Anything
else is a bug in our code (or a library's): it exits 1 with its traceback."""


class UsageError(ValueError):
    """Bad input from the user: printed as one line, exit code 2 (raised
    as it is by tuning.api, a ValueError as Python's own bad-argument errors)."""


class SearchStopped(Exception):
    """The search ran but cannot go on (every trial failing); each trial's
    error was printed when it failed: one line, exit code 1."""
