"""Fixtures for the board-farm and SSH-path tests: ONE emulated board, kept running by a loopback farm.

The farm (labgrid-coordinator + labgrid-exporter + QEMU with its serial console on a pty) starts once per
session; the HIL suite runs through it as a RemotePlace (the labgrid path) and, unchanged, over plain SSH to
the same board's port (``--armstft-ssh``), so CI pays for one boot.  At the end every process the farm
started must be gone (checked in /proc).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import paths
from harness.farm.loopback import LoopbackFarm

REPO = paths.repo_root()
FARM_ENV = REPO / "harness" / "envs" / "farm-qemu.yaml"
#: a bench that only needs to produce rows (CI time): one thread, three iterations per case
LEAN_BENCH = "--quick --threads 1 --iterations 3 --seconds 0.1"


def board_out() -> Path:
    return Path(os.environ.get("LG_ARMSTFT_BOARD_OUT") or paths.board_out())


@pytest.fixture(scope="session")
def farm(tmp_path_factory) -> LoopbackFarm:
    out = board_out()
    if not (out / "board.json").is_file():
        pytest.skip(f"{out}: no emulated board built (python -m harness.image.build)")
    if not shutil.which("ser2net") and not Path("/usr/sbin/ser2net").exists():
        pytest.skip(
            "ser2net is not installed (scripts/deps/apt.txt; labgrid-exporter serves serial ports with it)"
        )
    farm = LoopbackFarm(tmp_path_factory.mktemp("farm"), out)
    farm.start()
    try:
        farm.board.wait_ssh(timeout=180)
        yield farm
    finally:
        farm.stop()
    strays = farm.strays()
    assert not strays, f"processes left running after the farm stopped: {strays}"


@pytest.fixture(scope="session")
def emulated_board(farm):
    """The farm's board: ``ssh_port``, ``key`` and ``known_hosts`` for the SSH-path tests."""
    return farm.board


def run_pytest(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 1500):
    """A child ``python -m pytest ARGS`` writing its run folders under ``root``; (process, newest run)."""
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--armstft-results-root={root}"]
    environ = {**os.environ, **(env or {})}
    environ.pop("LG_ENV", None)
    proc = subprocess.run(
        [*argv, *args], cwd=REPO, env=environ, capture_output=True, text=True, timeout=timeout
    )
    runs = sorted(root.glob("*/*/"))
    return proc, (runs[-1] if runs else None)


def ssh_args(
    board, *, port: int | None = None, key: Path | None = None, pin: Path | bool = True
) -> list[str]:
    """The plugin options that reach the farm's board over plain SSH (``pin=False``: no pinned host key)."""
    args = [f"--armstft-ssh=root@127.0.0.1:{port or board.ssh_port}", f"--armstft-key={key or board.key}"]
    if pin:
        args.append(f"--armstft-known-hosts={board.known_hosts if pin is True else pin}")
    return args


def junit_outcomes(run: Path) -> dict[tuple[str, str], str]:
    """{(classname, name): passed|failure|error|skipped} from a run's junit.xml."""
    outcomes = {}
    for case in ET.parse(run / "junit.xml").getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[(case.get("classname"), case.get("name"))] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.fixture(scope="session")
def farm_suite_run(farm, tmp_path_factory):
    """The whole HIL suite through the farm's RemotePlace (labgrid path), as the place's owner."""
    done = farm.client("acquire")
    assert done.returncode == 0, done.stderr
    try:
        root = tmp_path_factory.mktemp("farm-results")
        proc, run = run_pytest(
            root,
            "--lg-env",
            str(FARM_ENV),
            "--armstft-bench-args=--quick",
            "tests/hil",
            env=farm.client_env(),
        )
    finally:
        farm.client("release")
    assert run is not None, f"no results folder written; pytest said:\n{proc.stdout[-3000:]}"
    return proc, run


@pytest.fixture(scope="session")
def ssh_suite_run(emulated_board, tmp_path_factory):
    """The whole HIL suite over plain SSH to the same board (``--armstft-ssh``), host key pinned."""
    root = tmp_path_factory.mktemp("ssh-results")
    proc, run = run_pytest(root, *ssh_args(emulated_board), f"--armstft-bench-args={LEAN_BENCH}", "tests/hil")
    assert run is not None, f"no results folder written; pytest said:\n{proc.stdout[-3000:]}"
    return proc, run
