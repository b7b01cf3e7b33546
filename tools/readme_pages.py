"""The checks of README.md and docs/*.md that train nothing.

- every relative link leads to a file, and an anchor to one of its headings;
- every command quoted (`python -m tuning ...` parses with the command line's
  own parser, `make TARGET` is a target, `python benchmarks/X.py` exists);
- every table headed `Source: benchmarks/results/NAME.csv`: each number of a
  row, at its printed precision, is in the CSV rows its text cells name.
"""

import contextlib
import csv
import glob
import io
import os
import re
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_pages(root=ROOT):
    """{path relative to root: text} of README.md and docs/*.md."""
    paths = ["README.md"] + sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md"))
    )
    return {path: open(os.path.join(root, path), encoding="utf-8").read() for path in paths}


def check_pages(pages, root=ROOT):
    """The checks that train nothing: links, commands and sourced tables."""
    return check_links(pages, root) + check_commands(pages, root) + check_tables(pages, root)


def slug(heading):
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def check_links(pages, root=ROOT):
    found = []
    for page, text in pages.items():
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(os.path.join(root, resolved)):
                found.append(f"{page}: link to {target}: no such file")
            elif anchor and resolved.endswith(".md"):
                headings = re.findall(
                    r"^#+ (.+)$", open(os.path.join(root, resolved), encoding="utf-8").read(), re.M
                )
                if anchor not in {slug(h) for h in headings}:
                    found.append(f"{page}: link to {target}: {resolved} has no heading #{anchor}")
    return found


COMMAND = re.compile(r"^(?:\$ )?(?:[A-Z_]+=\S+ )*((?:python -m tuning|make|python|pytest) .*)$")


def quoted_commands(text):
    """Commands quoted in fenced blocks (a line each) and in inline code,
    but synopses (with [ ], |, ... or < >), which no shell runs as written."""
    lines = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```$", text, flags=re.S | re.M):
        lines += block.replace("\\\n", " ").splitlines()
    # Inline, `python -m tuning verdict` names a command; with arguments it is one.
    lines += [
        span
        for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)
        if not re.fullmatch(r"python -m tuning( \w+)?", span)
    ]
    commands = []
    for line in lines:
        match = COMMAND.match(line.split("  #")[0].strip())
        if match and not re.search(r"[\[\]|<>]|\.\.\.", match.group(1)):
            commands.append(match.group(1))
    return commands


def check_commands(pages, root=ROOT):
    sys.path.insert(0, root)
    from tuning.__main__ import build_parser

    targets = set(
        re.findall(r"^([\w-]+):", open(os.path.join(root, "Makefile"), encoding="utf-8").read(), re.M)
    )
    found = []
    for page, text in pages.items():
        for command in quoted_commands(text):
            try:
                words = shlex.split(command)
            except ValueError as error:
                found.append(f"{page}: `{command}` is not a shell command ({error})")
                continue
            if words[:3] == ["python", "-m", "tuning"]:
                output = io.StringIO()
                try:
                    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                        build_parser().parse_args(words[3:])
                except SystemExit as exit_:
                    if exit_.code:
                        found.append(f"{page}: `{command}` does not parse: {output.getvalue().strip()}")
            elif words[0] == "make":
                found += [f"{page}: `{command}`: no make target {w}" for w in words[1:2] if w not in targets]
            elif words[0] in ("python", "pytest") and len(words) > 1 and words[1].endswith(".py"):
                if not os.path.isfile(os.path.join(root, words[1])):
                    found.append(f"{page}: `{command}`: no file {words[1]}")
    return found


NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?%?(?![\w.])")


def check_tables(pages, root=ROOT):
    """Each table after a `Source:` line naming CSVs: every number of a row
    is a value of the CSV rows that its text cells name (a cell, or its
    text before " (", equal to a text value of the row), at the number's
    printed precision; a percentage is a fraction times 100."""
    found = []
    for page, text in pages.items():
        for sources, table in re.findall(r"^Source: (.+)\n\n((?:\|.*\|\n)+)", text, flags=re.M):
            rows = []
            for name in re.findall(r"`([^`]+\.csv)`", sources):
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    found.append(f"{page}: Source {name}: no such file")
                    continue
                rows += list(csv.reader(open(path, encoding="utf-8")))[1:]
            for line in table.splitlines()[2:]:
                found += [f"{page}: {problem}" for problem in _check_row(line, rows)]
    return found


def _check_row(line, rows):
    cells = [cell.strip().strip("*`").strip() for cell in line.strip().strip("|").split("|")]
    names = {cell for cell in cells if cell} | {cell.split(" (")[0] for cell in cells}
    named = [row for row in rows if names & set(row)]
    if not named:
        return [f"row {line!r} names no row of its source"]
    values = [float(v) for row in named for v in row if _is_number(v)]
    problems = []
    for cell in cells:
        name = cell.split(" (")[0]
        numbers = NUMBER.findall(cell if _is_number(name.replace(",", "")) else cell[len(name) :])
        problems += [
            f"row {line!r}: {number} is in no value of its source rows"
            for number in numbers
            if not _matches(number, values)
        ]
    return problems


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _matches(number, values):
    percent = number.endswith("%")
    digits = number.rstrip("%").replace(",", "").replace("−", "-").lstrip("+")
    decimals = len(digits.partition(".")[2])
    target = float(digits)
    return any(
        abs(round(100 * v if percent else v, decimals) - target) < 10**-decimals / 2 + 1e-9 for v in values
    )
