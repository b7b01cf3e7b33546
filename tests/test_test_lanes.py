"""tools/test_lanes.py (`make test`): a lane that fails fails the whole run,
and every lane's output is shown."""

import os
import sys

TOOLS = os.path.join(os.path.dirname(__file__), os.pardir, "tools")
sys.path.insert(0, TOOLS)
import test_lanes  # noqa: E402

sys.path.remove(TOOLS)


def test_a_failing_side_lane_fails_the_run_and_its_output_is_printed(tmp_path, monkeypatch, capfd):
    # Files outside tests/, so that the suite's conftest (and Keras) stays out of these runs.
    (tmp_path / "test_passes.py").write_text("def test_passes():\n    assert True\n")
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    assert 1 == 2, 'side lane broke'\n")
    monkeypatch.setattr(test_lanes, "LOGS", str(tmp_path / "logs"))
    monkeypatch.setattr(
        test_lanes,
        "LANES",
        [
            ("tensorflow", 1, [str(tmp_path / "test_passes.py")]),
            ("jax", 1, [str(tmp_path / "test_fails.py")]),
            ("torch", 1, [str(tmp_path / "test_passes.py")]),
        ],
    )
    assert test_lanes.main() == 1
    out = capfd.readouterr().out
    assert "side lane broke" in out and "===== the jax lane exited with 1 =====" in out
    assert "===== the torch lane exited with 0 =====" in out
    assert out.rstrip().endswith("lanes: tensorflow 0, jax 1, torch 0")
    assert "side lane broke" in (tmp_path / "logs" / "jax.log").read_text()
