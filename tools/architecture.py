"""The import structure of keras_lrelu/ and tuning/, measured from the source.

`python tools/architecture.py` prints the modules, the floors they live on,
the longest chain of imports, and every import that breaks the layering:
one that runs up a floor, sideways into another package of its floor, into
tuning/ from keras_lrelu/, or round a cycle. tests/test_architecture.py
fails on any of them. Every import counts, at module level or inside a
function.
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Lowest first. A module may import from a lower floor, and from its own
# package on its own floor; the top floor's entries are floors of their own.
FLOORS = [
    ("errors and names", ["tuning.errors", "tuning.names"]),
    (
        "ground floor",
        [
            "tuning.limits",
            "tuning.atomic",
            "tuning.paths",
            "tuning.locks",
            "tuning.quiet",
            "tuning.relaunch",
            "tuning.keras_backend",
        ],
    ),
    ("data, statistics, cluster", ["tuning.data", "tuning.verdict", "tuning.cluster"]),
    ("search", ["tuning.search"]),
    ("export and studies", ["tuning.export", "tuning.studies"]),
    ("settings", ["tuning.settings"]),
    ("the search command", ["tuning.search_command"]),
    ("the command line", ["tuning.__main__"]),
    ("the Python API", ["tuning.api"]),
]
# Modules that need neither TensorFlow nor Keras at import or at run time.
WITHOUT_TENSORFLOW = [
    "tuning.verdict",
    "tuning.search.pruners",
    "tuning.errors",
    "tuning.names",
    "tuning.limits",
    "tuning.atomic",
]
HEAVY = ("tensorflow", "keras", "keras_tuner", "keras_lrelu", "torch", "jax")


def modules():
    """{dotted name: path} of every module under keras_lrelu/ and tuning/."""
    found = {}
    for package in ("keras_lrelu", "tuning"):
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = path
    return found


def imports(path, known):
    """The modules of `known` that the file at `path` imports, and the
    top-level names of the others."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            target = next((m for m in _prefixes(name) if m in known), None)
            if target is not None:
                ours.add(target)
            elif not name.startswith(("tuning", "keras_lrelu")):
                others.add(name.split(".")[0])
    return ours, others


def _prefixes(name):
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def floor_of(module):
    """(floor number, the floor entry the module belongs to), or None outside tuning/."""
    for number, (_, entries) in enumerate(FLOORS):
        for entry in entries:
            if module == entry or module.startswith(entry + "."):
                return number, entry
    return None


def graph():
    known = modules()
    edges, external = {}, {}
    for module, path in known.items():
        ours, others = imports(path, known)
        ours.discard(module)
        # `from tuning.search import records` also names the package: its __init__ is not an edge.
        edges[module] = {m for m in ours if not (module.startswith(m + ".") and m + "." in module + ".")}
        external[module] = others
    return known, edges, external


def problems(edges, external):
    found = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            if module.startswith("keras_lrelu") and target.startswith("tuning"):
                found.append(f"{module} imports {target}: keras_lrelu never imports tuning")
                continue
            if not (module.startswith("tuning") and target.startswith("tuning")) or target == "tuning":
                continue
            here, there = floor_of(module), floor_of(target)
            if here is None or there is None:
                found.append(f"{module} or {target} is on no floor (tools/architecture.py FLOORS)")
            elif there[0] > here[0]:
                found.append(
                    f"{module} ({FLOORS[here[0]][0]}) imports {target} ({FLOORS[there[0]][0]}): upward"
                )
            elif there[0] == here[0] and there[1] != here[1]:
                found.append(f"{module} imports {target}: sideways, into another package of its floor")
    for module in sorted(edges):
        if any(module == m or module.startswith(m + ".") for m in WITHOUT_TENSORFLOW):
            heavy = sorted(external[module] & set(HEAVY))
            if heavy:
                found.append(f"{module} imports {', '.join(heavy)}, and must run without TensorFlow or Keras")
    found += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(edges)]
    return found


def cycles(edges):
    """One cycle through each strongly connected group of modules, if any."""
    found, state = [], {}

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def depth(edges):
    """The longest chain of imports between our modules (a module importing nothing of ours: 0)."""
    memo = {}

    def longest(module):
        if module not in memo:
            memo[module] = 0  # a cycle, reported elsewhere, must not recurse forever
            memo[module] = max((1 + longest(t) for t in edges.get(module, ())), default=0)
        return memo[module]

    chains = {module: longest(module) for module in edges}
    deepest = max(chains, key=chains.get)
    chain = [deepest]
    while edges.get(chain[-1]):
        chain.append(max(edges[chain[-1]], key=lambda t: memo[t]))
    return chains[deepest], chain


def main():
    known, edges, external = graph()
    tuning = sorted(m for m in known if m.startswith("tuning"))
    plugin = sorted(m for m in known if m.startswith("keras_lrelu"))
    print(f"modules: {len(tuning)} in tuning/, {len(plugin)} in keras_lrelu/")
    for number, (name, entries) in enumerate(FLOORS):
        members = [m for m in tuning if floor_of(m) and floor_of(m)[0] == number]
        print(f"floor {number} ({name}): {len(members)} modules: {', '.join(entries)}")
    longest, chain = depth({m: {t for t in edges[m] if t.startswith("tuning")} for m in tuning})
    print(f"longest import chain in tuning/: {longest} imports: {' -> '.join(chain)}")
    found = problems(edges, external)
    for problem in found:
        print(f"problem: {problem}")
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
