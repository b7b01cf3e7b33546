"""Time per trial of the demo's grid on each Keras backend, on this machine.

Usage: python benchmarks/search_backends.py [--backends tensorflow,jax,torch]
                                            [--max-trials 4] [--repeats 1]
                                            [--dataset mnist5k] [--epochs 3]

Runs `make demo`'s search (mnist5k, grid over relu, fixed and channelwise,
3 epochs) with `--max-trials N --repeats K`, every trial in one process and
only the SavedModel exported, once per backend, each in a fresh process
(`--backend B`; a process runs one backend). `trial_s` is the mean of the
trials' training seconds from results.csv (all K repeats), `first_trial_s`
the first trial's (it pays for the first compilations) and `later_trial_s`
the mean of the others; `command_s` is the whole command, imports and the
export included. Ratios are to TensorFlow's, from the same run.
"""

import argparse
import os

import pandas as pd
from common import DEMO_GRID
from common import report
from common import search_in_fresh_process


def time_search(backend, args):
    """One search on `backend` in a fresh process: (results.csv, seconds)."""
    options = [*DEMO_GRID, "--seed", "0", "--dataset", args.dataset, "--epochs", str(args.epochs)]
    options += ["--backend", backend, "--max-trials", str(args.max_trials), "--repeats", str(args.repeats)]
    table, _, seconds = search_in_fresh_process(options, backend)
    return table, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch", help="comma list")
    parser.add_argument("--max-trials", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dataset", default="mnist5k", help="the demo's; tests use digits")
    parser.add_argument("--epochs", type=int, default=3, help="the demo's")
    args = parser.parse_args(argv)
    print(
        f"{os.cpu_count()} cores; the demo's grid on {args.dataset}, {args.max_trials} trials x "
        f"{args.repeats} repeat(s) x {args.epochs} epochs\n"
    )
    rows = []
    for backend in args.backends.split(","):
        table, seconds = time_search(backend, args)
        if not (table["backend"] == backend).all():
            raise SystemExit(f"asked for {backend}, the search trained on {set(table['backend'])}")
        trials = table["seconds"].tolist()
        rows.append(
            {
                "backend": backend,
                "trials": len(trials),
                "trial_s": sum(trials) / len(trials),
                "first_trial_s": trials[0],
                "later_trial_s": sum(trials[1:]) / (len(trials) - 1) if len(trials) > 1 else float("nan"),
                "command_s": seconds,
                "best_val_accuracy": table["val_accuracy"].max(),
            }
        )
    frame = pd.DataFrame(rows)
    if "tensorflow" in set(frame["backend"]):
        baseline = frame.set_index("backend").loc["tensorflow"]
        frame["trial_vs_tensorflow"] = frame["trial_s"] / baseline["trial_s"]
        frame["command_vs_tensorflow"] = frame["command_s"] / baseline["command_s"]
    report(frame.to_dict("records"), "search_backends", list(frame.columns))


if __name__ == "__main__":
    main()
