"""Time to a decision: a grid searched to a verdict against ReLU in several
ways, from the same seeds, on this machine; with --before REV, the way the
suite answered before (make demo's options then) runs the suite of that
commit, so the table is an A/B of the code, not only of the options.

Usage: python benchmarks/time_to_decision.py [--before REV] [--grids demo,differing]
                                             [--ways today,fast,race] [--dataset mnist5k]
                                             [--epochs 3] [--max-trials 11] [--ceiling 10]

Each way is one `python -m tuning search` in a fresh process (only the
SavedModel exported). `today` is the former make demo (--prune race
--repeats 2 --confirm auto:C: the race of 2 rounds chooses, the
confirmation decides), from a checkout of REV when --before names one;
`fast` is today's make demo (--repeats 1 --confirm auto:C: one run per
configuration chooses, the best leaky one against ReLU decides); `race`
races 3 rounds before confirming (--prune race --repeats 3 --confirm
auto:C), dropping the configurations worse than the leader beyond noise.
C is --ceiling. The grids: `demo` (make demo's: ReLU and five slopes of a
fixed and a learned α per channel, all within noise of each other) and
`differing` (a random search of ReLU and fixed slopes, widths and learning rates from
1e-4 to 1e-2, where some configurations train far worse). `runs` counts the
runs trained (search and confirmation repeats, a dropped one too),
`dropped` the configurations the race left behind and after which round,
`decision` is the verdict's, `pairs` the repeats it was decided on; the
ratios are to the first way of the same grid. Writes
benchmarks/results/time_to_decision.csv.
"""

import argparse
import contextlib
import os
import re
import subprocess
import tempfile

from common import DEMO_GRID
from common import ROOT
from common import report
from common import search_in_fresh_process

WAYS = {
    "today": lambda c: ["--prune", "race", "--repeats", "2", "--confirm", f"auto:{c}"],
    "fast": lambda c: ["--repeats", "1", "--confirm", f"auto:{c}"],
    "race": lambda c: ["--prune", "race", "--repeats", "3", "--confirm", f"auto:{c}"],
}
GRIDS = {"demo": DEMO_GRID, "differing": ["--tuner", "random", "--modes", "relu,fixed"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the commit whose suite runs the `today` way (default: this tree)")
    parser.add_argument("--grids", default=",".join(GRIDS), help="comma list")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma list, the first is the baseline")
    parser.add_argument("--dataset", default="mnist5k", help="the demo's; tests use digits")
    parser.add_argument("--epochs", type=int, default=3, help="the demo's")
    parser.add_argument("--max-trials", type=int, default=11, help="the demo's")
    parser.add_argument("--ceiling", type=int, default=10, help="confirmation rounds at most")
    args = parser.parse_args(argv)
    rows = []
    with _checkout(args.before) as before:
        for grid in args.grids.split(","):
            first = len(rows)
            for way in args.ways.split(","):
                rows.append(_run(grid, way, args, before if way == "today" else ROOT))
                rows[-1]["source"] = args.before if way == "today" and args.before else "this tree"
            for row in rows[first:]:
                row["time_vs_first"] = row["wall_s"] / rows[first]["wall_s"]
                row["runs_vs_first"] = row["runs"] / rows[first]["runs"]
                row["same_decision"] = row["decision"] == rows[first]["decision"]
    report(rows, "time_to_decision", list(rows[0]))


def _run(grid, way, args, source):
    options = [*GRIDS[grid], "--seed", "0", "--dataset", args.dataset, "--epochs", str(args.epochs)]
    options += ["--max-trials", str(args.max_trials), *WAYS[way](args.ceiling)]
    table, verdict, seconds = search_in_fresh_process(options, f"{grid}-{way}", source)
    confirm = [c for c in table.columns if c.startswith("confirm_val_accuracy_")]
    against = (verdict or {}).get("against_relu", {}).get("comparisons", [None])[0] or {}
    return {
        "grid": grid,
        "way": way,
        "options": " ".join(WAYS[way](args.ceiling)),
        "wall_s": seconds,
        "runs": int(table["repeats"].sum() + table[confirm].notna().to_numpy().sum()),
        "dropped": _dropped(table),
        "decision": (verdict or {}).get("decision"),
        "pairs": against.get("pairs"),
    }


def _dropped(table):
    """`2 after round 3` for the configurations a race left behind, or `0`."""
    rounds = [
        int(found.group(1))
        for message in table.loc[table["status"] == "PRUNED", "message"].dropna()
        if (found := re.search(r"after round (\d+)", message))
    ]
    if not rounds:
        return "0"
    return "; ".join(f"{rounds.count(n)} after round {n}" for n in sorted(set(rounds)))


@contextlib.contextmanager
def _checkout(revision):
    """A checkout of `revision` of this repository in a temporary folder
    (git worktree), removed after; None without a revision."""
    if not revision:
        yield ROOT
        return
    with tempfile.TemporaryDirectory() as parent:
        folder = os.path.join(parent, "before")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", folder, revision], check=True)
        try:
            yield folder
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", folder], check=False)


if __name__ == "__main__":
    main()
