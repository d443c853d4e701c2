"""Fixtures for the board-farm and direct-SSH tests: ONE emulated board, kept running by a loopback farm.

The farm (labgrid-coordinator + labgrid-exporter + QEMU with its serial console on a pty) starts once per
session; the HIL suite runs through it as a RemotePlace, and the direct-SSH tests use the same board's SSH
port, so CI pays for one boot.  At the end every process the farm started must be gone (checked in /proc).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness import paths  # noqa: E402
from harness.farm.loopback import LoopbackFarm  # noqa: E402


def board_out() -> Path:
    return Path(os.environ.get("LG_ARMSTFT_BOARD_OUT") or paths.board_out())


@pytest.fixture(scope="session")
def farm(tmp_path_factory) -> LoopbackFarm:
    out = board_out()
    if not (out / "board.json").is_file():
        pytest.skip(f"{out}: no emulated board built (python -m harness.board.build)")
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
    """The farm's board: ``ssh_port``, ``key`` and ``known_hosts`` for the direct-SSH tests."""
    return farm.board
