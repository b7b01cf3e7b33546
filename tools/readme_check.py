"""`make readme-check`: reruns what the README and docs/ quote and fails where they differ.

The pages are README.md and docs/*.md, read as one manual. First the checks
that need no training (tools/readme_pages.py: links, commands, tables quoted
from benchmarks/results/; `--pages-only` runs only these, and make test runs
them too). Then it runs the demo (the search command given as arguments, `make demo`'s),
and compares with the pages, timings aside:
- the demo's printed table (all but `seconds`) and the verdict and file
  lines below it;
- the sentence on the exported model: its trial, repeat, validation and test
  accuracy, each format's test accuracy and the files' sizes (the card);
- `predict` on the three PNGs the README's snippet writes, line by line;
- the study tables against the committed results/compare and results/dying,
  and, with --studies, those studies rerun into runs/ as the README's
  commands say (about 20 minutes more on 2 cores).
Prints every difference and exits 1 if there is any.
"""

import argparse
import json
import os
import re
import subprocess
import sys

from readme_pages import check_pages
from readme_pages import read_pages

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", action="store_true", help="rerun compare and dying too")
    parser.add_argument("--pages-only", action="store_true", help="only the checks that train nothing")
    args, demo = parser.parse_known_args(argv)  # the rest: the demo's search arguments
    os.chdir(ROOT)
    pages = read_pages()
    readme = "\n".join(pages.values())
    differences = check_pages(pages)
    if args.pages_only:
        return report(differences)
    demo_stdout = run(["search", *demo])
    differences += check_demo_table(readme, demo_stdout)
    differences += check_card(readme, "saved_models/demo/best/model_card.json")
    differences += check_predict(readme)
    for name in ("compare", "dying"):
        differences += check_study(readme, name, rerun=args.studies)
    return report(differences)


def report(differences):
    for difference in differences:
        print(f"README differs: {difference}")
    print(f"readme-check: {len(differences)} difference(s)")
    return 1 if differences else 0


def run(args):
    """`python -m tuning ARGS`, its output shown as it comes; returns stdout."""
    print("$ python -m tuning " + " ".join(args), flush=True)
    process = subprocess.Popen([sys.executable, "-m", "tuning", *args], stdout=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        sys.exit(f"readme-check: python -m tuning {' '.join(args)} exited with {process.returncode}")
    return "".join(lines)


def fenced(readme, after, first_line=None):
    """The body of the first fenced block after the heading or text `after`
    (the first one whose first line starts with `first_line`, if given)."""
    start = readme.index(after)
    for match in re.finditer(r"^```[a-z]*\n(.*?)^```$", readme[start:], flags=re.S | re.M):
        if first_line is None or match.group(1).startswith(first_line):
            return match.group(1)
    raise ValueError(f"no fenced block after {after!r}")


def without_seconds(lines):
    """Table rows with their last column (`seconds`) dropped; other lines kept."""
    kept, in_table = [], False
    for line in lines:
        in_table = line.startswith("trial_id") or (in_table and line.strip() != "")
        kept.append(line.rsplit(None, 1)[0] if in_table else line.rstrip())
    return kept


def compare_lines(what, quoted, fresh):
    if len(quoted) != len(fresh):
        return [f"{what}: {len(quoted)} lines quoted, {len(fresh)} in the fresh run:\n" + "\n".join(fresh)]
    return [f"{what}: quoted {q!r}, fresh {f!r}" for q, f in zip(quoted, fresh) if q != f]


def check_demo_table(readme, stdout):
    quoted = fenced(readme, "### What `make demo` does", "trial_id").splitlines()
    fresh = stdout.splitlines()
    header = max(i for i, line in enumerate(fresh) if line.startswith("trial_id"))
    return compare_lines("the demo's output", without_seconds(quoted), without_seconds(fresh[header:]))


def check_card(readme, path):
    card = json.load(open(path, encoding="utf-8"))
    formats = card["formats"]
    pattern = (
        r"The exported model \(trial (\w+), its (\w+) repeat, validation accuracy ([\d.]+)%\) "
        r"scored ([\d.]+)% on the ([\d,]+) held-out test digits, and so did (.*?); "
        r"`model_int8.tflite` \(([\d.]+) MB\) scored ([\d.]+)%"
    )
    sentence = re.search(pattern.replace(" ", r"\s+"), readme, flags=re.S)
    if sentence is None:
        return ["the sentence on the exported model (trial, repeat, accuracies, formats) is not found"]
    trial, repeat, val, test, digits, same, int8_size, int8_test = sentence.groups()
    claims = [
        ("trial", trial, card["trial_id"]),
        ("repeat", repeat, ORDINALS.get(card["configuration"]["exported_repeat"])),
        ("validation accuracy", val, percent(card["metrics"]["val_accuracy_selected"])),
        ("test accuracy", test, percent(card["metrics"]["test_accuracy"])),
        ("test digits", digits, f"{card['splits']['test']:,}"),
        (
            "model_int8.tflite test accuracy",
            int8_test,
            percent(formats["model_int8.tflite"]["test_accuracy"]),
        ),
        ("model_int8.tflite size", int8_size, megabytes(formats["model_int8.tflite"]["bytes"], int8_size)),
    ]
    named = {
        "model.keras": "`model.keras`",
        "saved_model": "the SavedModel",
        "model.tflite": "`model.tflite`",
        "model.onnx": "`model.onnx`",
    }
    for name, words in named.items():
        claims.append(
            (f"{name} scored as the model", words in same, percent(formats[name]["test_accuracy"]) == test)
        )
    for name, size in re.findall(r"`([\w.]+)` \(([\d.]+) MB\)", same):
        claims.append((f"{name} size", size, megabytes(formats[name]["bytes"], size)))
    return [
        f"card: {what} quoted {quoted!r}, card says {actual!r}"
        for what, quoted, actual in claims
        if quoted != actual
    ]


def percent(fraction):
    return f"{100 * fraction:.1f}"


def megabytes(size, quoted):
    """`size` in MB with as many decimals as `quoted` has."""
    decimals = len(quoted.partition(".")[2])
    return f"{size / 1e6:.{decimals}f}"


def check_predict(readme):
    snippet = fenced(readme, "The first three held-out test digits", "from PIL import Image")
    images = re.findall(r'"(\w+)"', snippet.split("zip(", 1)[1].split("]", 1)[0])
    paths = [f"{name}.png" for name in images]
    if any(os.path.exists(path) for path in paths):  # the snippet would overwrite them
        sys.exit(
            f"readme-check: move {', '.join(paths)} out of {ROOT} first; the README's snippet writes them"
        )
    try:
        exec(compile(snippet, "README.md (the PNG snippet)", "exec"), {"__name__": "__main__"})
        quoted = fenced(
            readme, "The first three held-out test digits", "$ python -m tuning predict"
        ).splitlines()
        fresh = run(quoted[0].split()[4:]).splitlines()
    finally:
        for path in paths:
            if os.path.exists(path):
                os.remove(path)
    return compare_lines("predict", quoted[1:], fresh)


STUDIES = {"compare": "## The rectifier comparison", "dying": "## The dying-ReLU experiment"}


def check_study(readme, name, rerun):
    """The README's table of study `name` against the committed one, and
    against a fresh run of the README's command (into runs/) with --studies."""
    section = readme[readme.index(STUDIES[name]) :]
    command = fenced(section, STUDIES[name]).split()
    quoted = table_rows(section)
    committed = table_rows(open(os.path.join("results", name, f"{name}.md"), encoding="utf-8").read())
    differences = compare_lines(f"results/{name}/{name}.md", quoted, committed)
    if rerun:
        out = os.path.join("runs", name)
        arguments = command[3:]
        arguments[arguments.index("--out") + 1] = out
        run(arguments)
        fresh = table_rows(open(os.path.join(out, f"{name}.md"), encoding="utf-8").read())
        differences += compare_lines(f"a fresh `{name}`", quoted, fresh)
    return differences


def table_rows(text):
    """The rows of the first Markdown table in `text`."""
    rows = re.search(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    return rows.group(1).splitlines() if rows else []


if __name__ == "__main__":
    sys.exit(main())
