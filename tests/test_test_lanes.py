"""tools/test_lanes.py (`make test`): a lane that fails fails the whole run,
every lane's output is shown, and so is the CPU each test took."""

import os
import re
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), os.pardir, "tools")
sys.path.insert(0, TOOLS)
import test_lanes  # noqa: E402

sys.path.remove(TOOLS)


def test_a_failing_side_lane_fails_the_run_and_its_output_is_printed(tmp_path, monkeypatch, capfd):
    # Files outside tests/, so that the suite's conftest (and Keras) stays out of these runs.
    (tmp_path / "test_passes.py").write_text("def test_passes():\n    assert True\n")
    (tmp_path / "test_spends.py").write_text(
        "import subprocess, sys\n\n\ndef test_spends():\n"
        "    subprocess.run([sys.executable, '-c', 'sum(range(3 * 10**7))'], check=True)\n"
    )
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    assert 1 == 2, 'side lane broke'\n")
    monkeypatch.setattr(test_lanes, "LOGS", str(tmp_path / "logs"))
    monkeypatch.setattr(
        test_lanes,
        "LANES",
        [
            ("tensorflow", 1, [str(tmp_path / "test_passes.py"), str(tmp_path / "test_spends.py")]),
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
    # The CPU a test spent in its subprocess counts (tools/cpu_per_test.py), and the lanes' tests are summed.
    assert re.search(
        r"^CPU seconds in tests \(their own and their subprocesses'\): tensorflow \d+, jax \d+, torch \d+$",
        out,
        re.M,
    )
    spent = re.search(
        r"^ *([\d.]+) = +([\d.]+) \+ +([\d.]+)  tensorflow +\S*test_spends\.py::test_spends$", out, re.M
    )
    assert spent and float(spent.group(3)) > 0.2, out[-2000:]
    assert float(spent.group(1)) == pytest.approx(float(spent.group(2)) + float(spent.group(3)), abs=0.11)
    logged = (tmp_path / "logs" / "tensorflow.cpu").read_text().splitlines()
    assert [line.split("\t")[2].split("::")[-1] for line in logged] == ["test_passes", "test_spends"]
