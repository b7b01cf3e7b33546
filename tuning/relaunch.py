"""Starting `python -m tuning` again (a fresh search process, a chief, a
worker) so that it runs the very `tuning` package this process runs.

`python -m tuning` puts the current folder first on sys.path, so a
`./tuning` folder there (anyone's) would run instead of the installed
package. `-P` leaves the current folder out, and PYTHONPATH puts this
package's own parent first, which also serves a source checkout that was
never installed.
"""

import os
import sys

import tuning

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tuning.__file__)))


def command(*args, module="tuning"):
    """The argv that runs `python -m MODULE ARGS` (`python -m tuning ...`
    by default) with this package."""
    return [sys.executable, "-P", "-m", module, *args]


def environment(env=None):
    """`env` (default: this process's) with PYTHONPATH led by this package's parent."""
    env = dict(os.environ if env is None else env)
    rest = env.get("PYTHONPATH")
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + rest if rest else "")
    return env
