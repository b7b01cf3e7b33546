"""Memory of a long search: how the search's RSS grows from trial to trial.

Usage: python benchmarks/search_memory.py [--max-trials 16] [--dataset mnist5k]
                                          [--trials-per-process 1,4,0]

Runs `python -m tuning search --tuner random --max-trials N --epochs 1` in a
fresh process, twice: with `--modes relu` (every trial a CNN with Keras's own
ReLU) and with keras_lrelu's modes. It reads the resident memory of the
search's whole process tree (every process the search runs, summed) from
/proc every 0.2 s and keeps each trial's peak. A trial's peak depends on its
network (mode and width: 16 to 48 filters), so growth compares like with
like: trials of one network, whose peaks differ only by what the search
keeps from trial to trial. `growth_MB` is the mean, over the networks drawn
twice or more, of (the last such trial's peak less the first's, trial 1 left
out: it pays for imports and first compilations) per trial between, times
N - 2: what N trials would keep. `spread_MB` is the highest peak of trials 2
to N less the lowest (how networks differ, not growth; the former
`last - trial 2` mixed the two). Each search runs once per
`--trials-per-process` value (0: every trial in one process); every
trial's peak goes to search_memory_curve.csv.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import common
import pandas as pd
from common import machine
from common import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tree_rss_mb(pid):
    """Resident memory of `pid` and all its descendants, in MB (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    pending += [int(child) for child in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue  # it ended while being read
    return total / 1024


def sample_search(args, modes, per_process):
    """Peak RSS (MB) of the search's process tree during each trial, polled
    every 0.2 s, and each trial's network: ({trial number: peak}, {trial number: "mode filters"})."""
    # fmt: off
    command = [
        sys.executable, "-m", "tuning", "search", "--dataset", args.dataset, "--tuner", "random",
        "--max-trials", str(args.max_trials), "--epochs", "1", "--seed", "0", "--modes", modes,
        "--export-formats", "saved_model", "--trials-per-process", str(per_process),
    ]
    # fmt: on
    peaks, networks, current, output = {}, {}, [None], []
    with tempfile.TemporaryDirectory() as cwd:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONPATH=ROOT),
        )

        def poll():
            while process.poll() is None:
                trial = current[0]
                if trial is not None:
                    peaks[trial] = max(peaks.get(trial, 0), tree_rss_mb(process.pid))
                time.sleep(0.2)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        for line in process.stdout:
            output.append(line)
            started = re.match(r"trial (\d+)/\S*\s+mode=(\w+) .*filters=(\d+)", line)
            if started:
                current[0] = int(started.group(1))
                networks[current[0]] = f"{started.group(2)} {started.group(3)}"
            elif line.startswith("results: "):
                current[0] = None  # the export after the last trial is not a trial
        poller.join()
        if process.returncode != 0:
            raise SystemExit("the search failed:\n" + "".join(output[-30:]))
    return peaks, networks


def growth_per_trial(peaks, networks):
    """Mean over the networks of (last peak - first peak) / trials between,
    for the trials 2.. of each (`networks`: {trial: its mode and width});
    0 if no network was drawn twice."""
    slopes = []
    for network in sorted(set(networks.values())):
        trials = sorted(t for t, n in networks.items() if n == network and t >= 2 and t in peaks)
        if len(trials) >= 2:
            slopes.append((peaks[trials[-1]] - peaks[trials[0]]) / (trials[-1] - trials[0]))
    return sum(slopes) / len(slopes) if slopes else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=16)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--trials-per-process", default="1,4,0", help="comma list; 0: all in one")
    args = parser.parse_args(argv)
    print(machine() + "\n")
    searches = {"keras ReLU only": "relu", "keras_lrelu modes": "fixed,trainable,channelwise,randomized"}
    rows, curve = [], []
    for per_process in [int(k) for k in args.trials_per_process.split(",")]:
        for name, modes in searches.items():
            peaks, networks = sample_search(args, modes, per_process)
            later = [peak for trial, peak in peaks.items() if trial >= 2]
            rows.append(
                {
                    "search": name,
                    "trials_per_process": per_process or "all",
                    "trials": args.max_trials,
                    "trial_1_MB": peaks[1],
                    "trial_2_MB": peaks[2],
                    "last_trial_MB": peaks[args.max_trials],
                    "growth_MB": growth_per_trial(peaks, networks) * (args.max_trials - 2),
                    "spread_MB": max(later) - min(later),
                }
            )
            curve += [
                {"search": name, "trials_per_process": per_process or "all", "trial": t, "network": networks[t],
                 "peak_MB": peak}
                for t, peak in sorted(peaks.items())
            ]  # fmt: skip
    pd.DataFrame(curve).to_csv(os.path.join(common.RESULTS_DIR, "search_memory_curve.csv"), index=False)
    report(rows, "search_memory", list(rows[0]))


if __name__ == "__main__":
    main()
