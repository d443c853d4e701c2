"""The HIL suite through a labgrid board farm (RemotePlace, labgrid-coordinator + labgrid-exporter), for real.

Everything runs on 127.0.0.1 (``harness/farm/loopback.py``): the suite is the unchanged ``tests/hil``, driven
by ``harness/envs/farm-qemu.yaml``, in a child pytest, as a user of the farm would run it.  That env tags the
emulated board as a real one (``latency-limits``), so the same run shows limits enforced: it passes with the
board's limits and fails with limits it cannot meet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FARM_ENV = REPO / "harness" / "envs" / "farm-qemu.yaml"
MUST_FAIL = Path(__file__).resolve().parent / "limits" / "must-fail.yaml"
OTHER = {"user": "other-user", "host": "other-host"}
#: a bench that only needs to produce rows (CI time): one thread, three iterations per case
LEAN_BENCH = "--quick --threads 1 --iterations 3 --seconds 0.1"


def run_suite(farm, results_root: Path, *paths: str, extra_env: dict[str, str] | None = None, bench: str):
    """``python -m pytest --lg-env farm-qemu.yaml PATHS`` as the place's owner; returns (proc, run folder)."""
    env = {**farm.client_env(), **(extra_env or {})}
    env.pop("LG_ENV", None)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--lg-env",
        str(FARM_ENV),
        f"--armstft-results-root={results_root}",
        f"--armstft-bench-args={bench}",
        *paths,
    ]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    runs = sorted((results_root / "farm-qemu").glob("*"))
    assert runs, f"no results folder written; pytest said:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    return proc, runs[-1]


def junit_outcomes(run: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(run / "junit.xml").getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.fixture()
def acquired(farm):
    """The place, acquired by this user for one test and released after it (even on failure)."""
    done = farm.client("acquire")
    assert done.returncode == 0, done.stderr
    yield farm
    farm.client("release")


def test_place_is_exclusive(farm):
    first = farm.client("acquire")
    assert first.returncode == 0, first.stderr
    try:
        second = farm.client("acquire", **OTHER)
        assert second.returncode != 0
        assert "already acquired" in second.stderr, second.stderr
        stolen = farm.client("release", **OTHER)
        assert stolen.returncode != 0, "another client released a place it does not hold"
    finally:
        assert farm.client("release").returncode == 0
    # once released, the other client gets it: the refusal was about ownership, not a broken place
    again = farm.client("acquire", **OTHER)
    assert again.returncode == 0, again.stderr
    assert farm.client("release", **OTHER).returncode == 0


def test_hil_suite_through_remote_place(acquired, tmp_path):
    proc, run = run_suite(acquired, tmp_path / "results", "tests/hil", bench="--quick")
    assert proc.returncode == 0, proc.stdout[-4000:]
    outcomes = junit_outcomes(run)
    assert outcomes.get("test_p99_within_board_limits") == "passed", outcomes
    assert outcomes.get("test_verify_default_bundle_passes") == "passed", outcomes
    meta = json.loads((run / "run.json").read_text())
    assert meta["limits_asserted"] is True and meta["limits_ok"] is True
    assert (run / "board" / "bench.json").is_file() and (run / "report.md").is_file()
    assert "console-ok" in (run / "console_main").read_text(errors="replace")  # the serial went via ser2net


def test_limits_enforced_on_a_feature_tagged_board(acquired, tmp_path):
    proc, run = run_suite(
        acquired,
        tmp_path / "results",
        "tests/hil/test_limits.py",
        extra_env={"ARMSTFT_LIMITS": str(MUST_FAIL)},
        bench=LEAN_BENCH,
    )
    assert proc.returncode == 1, proc.stdout[-4000:]
    assert junit_outcomes(run) == {"test_p99_within_board_limits": "failure"}
    verdict = json.loads((run / "board" / "limits.json").read_text())
    assert verdict["ok"] is False and verdict["checks"]
    assert all(not c["ok"] for c in verdict["checks"])
    assert "over" in verdict["summary"] and "must-fail.yaml" in verdict["summary"]


def test_other_client_cannot_use_a_held_place(acquired, tmp_path):
    env = {**acquired.client_env(**OTHER)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "labgrid-client"), "-p", "armstft-qemu", "console"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "not acquired by your user" in done.stderr or "acquired by" in done.stderr, done.stderr
