"""tools/architecture.py: the tree's imports run downhill, and the check finds what does not."""

import os
import sys

TOOLS = os.path.join(os.path.dirname(__file__), os.pardir, "tools")
sys.path.insert(0, TOOLS)
import architecture  # noqa: E402

sys.path.remove(TOOLS)


def test_every_import_runs_down_a_floor_or_stays_in_its_package():
    known, edges, external = architecture.graph()
    assert architecture.problems(edges, external) == []
    assert all(architecture.floor_of(m) for m in known if m.startswith("tuning.")), "a module on no floor"
    assert {"tuning.verdict.stats", "tuning.export.formats", "tuning.search.pruners.median"} <= set(known)


def test_upward_sideways_cyclic_and_heavy_imports_are_each_named():
    edges = {
        "tuning.verdict.stats": {"tuning.search.records"},
        "keras_lrelu.ops": {"tuning.data"},
        "tuning.data": {"tuning.cluster.engine"},
        "tuning.search.trials": {"tuning.search.tuners"},
        "tuning.search.tuners": {"tuning.search.trials"},
    }
    external = {"tuning.verdict.stats": {"tensorflow", "numpy"}}
    assert architecture.problems(edges, external) == [
        "keras_lrelu.ops imports tuning.data: keras_lrelu never imports tuning",
        "tuning.data imports tuning.cluster.engine: sideways, into another package of its floor",
        "tuning.verdict.stats (data, statistics, cluster) imports tuning.search.records (search): upward",
        "tuning.verdict.stats imports tensorflow, and must run without TensorFlow or Keras",
        "import cycle: tuning.search.trials -> tuning.search.tuners -> tuning.search.trials",
    ]
    assert architecture.depth({"a": {"b"}, "b": {"c"}, "c": set()}) == (2, ["a", "b", "c"])
