"""A pytest plugin (`-p tools.cpu_per_test`, as make test's lanes load it):
the CPU seconds each test took, its own process's and its subprocesses',
one line per test appended to the file KERAS_LRELU_CPU_LOG names.

make test keeps both cores busy, so a test's wall time (pytest's
--durations) grows with whatever runs beside it; its CPU time says what it
costs. A subprocess counts once it has ended and been waited for (one left
to init, as a search's chief after a kill -9 of its launcher, does not),
and a module- or session-scoped fixture counts in the first test that uses
it.
"""

import os
import resource

import pytest

ENV = "KERAS_LRELU_CPU_LOG"


def cpu_seconds():
    """(this process's CPU seconds, its waited-for subprocesses'), user and system."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = cpu_seconds()
    yield
    path = os.environ.get(ENV)
    if path:
        own, children = (after - start for after, start in zip(cpu_seconds(), before))
        # One short line per write: the lines of a lane's workers do not interleave.
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{own:.2f}\t{children:.2f}\t{item.nodeid}\n")


def summary(logs, count=25):
    """The lines make test prints: each lane's CPU seconds in its tests, then
    the `count` tests that took the most. `logs`: {lane: path of its log}."""
    rows, totals = [], []
    for lane, path in logs.items():
        lane_rows = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as log:
                for line in log:
                    own, children, nodeid = line.rstrip("\n").split("\t", 2)
                    lane_rows.append(
                        (float(own) + float(children), float(own), float(children), lane, nodeid)
                    )
        totals.append(f"{lane} {sum(row[0] for row in lane_rows):.0f}")
        rows += lane_rows
    lines = [f"CPU seconds in tests (their own and their subprocesses'): {', '.join(totals)}"]
    lines.append(f"the {count} that took the most: total = own + subprocesses, lane, test")
    for total, own, children, lane, nodeid in sorted(rows, reverse=True)[:count]:
        lines.append(f"{total:7.1f} = {own:6.1f} + {children:6.1f}  {lane:10} {nodeid}")
    return lines
