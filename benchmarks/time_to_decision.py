"""Time to a decision: the demo's grid searched to a verdict against ReLU
in several ways, from the same seeds, on this machine.

Usage: python benchmarks/time_to_decision.py [--ways full,median,race,race_auto]
                                             [--dataset mnist5k] [--epochs 3]
                                             [--max-trials 11] [--repeats 3] [--ceiling 10]

Each way is one `python -m tuning search` in a fresh process (only the
SavedModel exported), on the demo's grid (make demo) with --repeats R:
`full` trains every repeat (--prune none --confirm C), `median` prunes by
the median (--prune median --confirm C), `race` races and confirms until
decided (--prune race --confirm auto:C), and `race_auto` races on the
search's repeats until decided (--prune race --repeats auto:C, no
confirmation), C being --ceiling. `runs` counts the runs trained (search
and confirmation repeats, a pruned one too), `decision` is the verdict's,
`pairs` the repeats it was decided on; the ratios are to `full` from the same
run. Writes benchmarks/results/time_to_decision.csv.
"""

import argparse

from common import DEMO_GRID
from common import report
from common import search_in_fresh_process

WAYS = {
    "full": lambda r, c: ["--prune", "none", "--repeats", str(r), "--confirm", str(c)],
    "median": lambda r, c: ["--prune", "median", "--repeats", str(r), "--confirm", str(c)],
    "race": lambda r, c: ["--prune", "race", "--repeats", str(r), "--confirm", f"auto:{c}"],
    "race_auto": lambda r, c: ["--prune", "race", "--repeats", f"auto:{c}"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ways", default=",".join(WAYS), help="comma list, the first is the baseline")
    parser.add_argument("--dataset", default="mnist5k", help="the demo's; tests use digits")
    parser.add_argument("--epochs", type=int, default=3, help="the demo's")
    parser.add_argument("--max-trials", type=int, default=11, help="the demo's")
    parser.add_argument("--repeats", type=int, default=2, help="the demo's")
    parser.add_argument("--ceiling", type=int, default=10, help="confirmation (or race) rounds at most")
    args = parser.parse_args(argv)
    rows = []
    for way in args.ways.split(","):
        options = [*DEMO_GRID, "--seed", "0", "--dataset", args.dataset, "--epochs", str(args.epochs)]
        options += ["--max-trials", str(args.max_trials), *WAYS[way](args.repeats, args.ceiling)]
        table, verdict, seconds = search_in_fresh_process(options, way)
        confirm = [c for c in table.columns if c.startswith("confirm_val_accuracy_")]
        against = (verdict or {}).get("against_relu", {}).get("comparisons", [None])[0] or {}
        rows.append(
            {
                "way": way,
                "options": " ".join(WAYS[way](args.repeats, args.ceiling)),
                "wall_s": seconds,
                "runs": int(table["repeats"].sum() + table[confirm].notna().to_numpy().sum()),
                "decision": (verdict or {}).get("decision"),
                "pairs": against.get("pairs"),
            }
        )
    baseline = rows[0]
    for row in rows:
        row["time_vs_first"] = row["wall_s"] / baseline["wall_s"]
        row["runs_vs_first"] = row["runs"] / baseline["runs"]
        row["same_decision"] = row["decision"] == baseline["decision"]
    report(rows, "time_to_decision", list(rows[0]))


if __name__ == "__main__":
    main()
