"""The one error type the command line turns into an `error: ...` line."""


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""
