"""The host job runs the board's own steps on this host (``LocalTransport``): the same step runner, the same
verify of a corrupted copy, the same bench command and report as a board run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.drivers.local import LocalTransport
from harness.errors import StageError
from tests.unit.conftest import REPO


def test_local_transport_runs_bounded_and_copies(tmp_path):
    host = LocalTransport()
    done = host.run(["python3", "-c", "import sys; print(sys.prefix)"], stage="s", timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == sys.prefix  # the venv's python3, as on a board
    killed = host.run(["sleep", "30"], stage="s", timeout=1)
    assert killed.returncode == 137  # the board's own `timeout -s KILL` line, here too
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    host.put(tmp_path / "a", str(tmp_path / "b"), stage="s")
    assert host.get(str(tmp_path / "b" / "f"), tmp_path / "g", stage="s").read_text() == "x"
    with pytest.raises(StageError, match=r"missing.*copy to"):
        host.get(str(tmp_path / "missing"), tmp_path / "h", stage="s")


@pytest.mark.slow
def test_host_job_checks_a_bundle_with_the_board_steps(tmp_path):
    argv = [
        sys.executable, "-m", "harness.hostjob", "--bundle", str(REPO / "models" / "default"),
        "--results-root", str(tmp_path), "--bench-args=--quick --threads 1 --backends aten",
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = (tmp_path / "host").iterdir()
    steps = json.loads((run / "board" / "steps.json").read_text())
    assert steps["verify"]["returncode"] == 0
    assert steps["verify-corrupt"]["returncode"] in (1, 2)
    assert steps["verify-corrupt"]["stderr"].strip().startswith("armstft: error:")
    assert json.loads((run / "board" / "bench.json").read_text())["complete"] is True
    assert "## Verify: pushed bundle `default`" in (run / "report.md").read_text()
