"""Memory of a long search: how the search's RSS grows from trial to trial.

Usage: python benchmarks/search_memory.py [--max-trials 16] [--dataset mnist5k]

Runs `python -m tuning search --tuner random --max-trials N --epochs 1` in a
fresh process, twice: with `--modes relu` (every trial a CNN with Keras's own
ReLU) and with keras_lrelu's modes. At the start of every trial and once
the last has ended, it reads the resident memory of the search's whole
process tree (every process the search runs, summed) from /proc. Growth is
counted from the start of trial 2 (the first trial pays for imports and
first compilations) to the end of the last trial.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

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


def sample_search(args, modes):
    """RSS (MB) at the start of each trial and after the last, for one search."""
    command = [
        sys.executable, "-m", "tuning", "search", "--dataset", args.dataset, "--tuner", "random",
        "--max-trials", str(args.max_trials), "--epochs", "1", "--seed", "0", "--modes", modes,
        "--export-formats", "saved_model",
    ]
    with tempfile.TemporaryDirectory() as cwd:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONPATH=ROOT),
        )
        samples, output = {}, []
        for line in process.stdout:
            output.append(line)
            started = re.match(r"(?:\[\w+\] )?trial (\d+)/", line)
            if started:
                samples[int(started.group(1))] = tree_rss_mb(process.pid)
            elif "results: " in line:
                samples["end"] = tree_rss_mb(process.pid)
        if process.wait() != 0:
            raise SystemExit("the search failed:\n" + "".join(output[-30:]))
    return samples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=16)
    parser.add_argument("--dataset", default="mnist5k")
    args = parser.parse_args(argv)
    print(machine() + "\n")
    searches = {"keras ReLU only": "relu", "keras_lrelu modes": "fixed,trainable,channelwise,randomized"}
    rows = []
    for name, modes in searches.items():
        samples = sample_search(args, modes)
        growth = samples["end"] - samples[2]
        rows.append({
            "search": name, "trials": args.max_trials, "trial_1_MB": samples[1],
            "trial_2_MB": samples[2], "end_MB": samples["end"], "growth_MB": growth,
            "MB_per_trial": growth / (args.max_trials - 1),
        })
    frame = report(rows, "search_memory", list(rows[0]))
    baseline = frame.iloc[0]["growth_MB"]
    print(f"\ngrowth from trial 2 to the end, keras_lrelu ÷ keras ReLU only: "
          f"{frame.iloc[1]['growth_MB'] / baseline:.2f}" if baseline > 0 else "")


if __name__ == "__main__":
    main()
