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
from pathlib import Path

import pytest
from labgrid import Environment

from tests.boards.conftest import FARM_ENV, LEAN_BENCH, board_out, junit_outcomes, run_pytest

MUST_FAIL = Path(__file__).resolve().parent / "limits" / "must-fail.yaml"
OTHER = {"user": "other-user", "host": "other-host"}
#: QEMU user networking hands its first guest this address by DHCP (QEMU's documented default)
QEMU_GUEST_ADDRESS = "10.0.2.15"


def outcome(run: Path, name: str) -> str:
    return next(kind for (_, test), kind in junit_outcomes(run).items() if test == name)


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


def test_hil_suite_through_remote_place(farm_suite_run):
    proc, run = farm_suite_run
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert outcome(run, "test_p99_within_board_limits") == "passed"
    assert outcome(run, "test_verify_pushed_bundle_passes") == "passed"
    assert {kind for kind in junit_outcomes(run).values()} == {"passed"}
    meta = json.loads((run / "run.json").read_text())
    assert meta["limits_asserted"] is True and meta["limits_ok"] is True
    assert (run / "board" / "bench.json").is_file() and (run / "report.md").is_file()
    assert "console-ok-" in (run / "console_main").read_text(errors="replace")  # the serial went via ser2net


def test_limits_enforced_on_a_feature_tagged_board(acquired, tmp_path):
    proc, run = run_pytest(
        tmp_path,
        "--lg-env",
        str(FARM_ENV),
        f"--armstft-bench-args={LEAN_BENCH}",
        "tests/hil/test_limits.py",
        env={**acquired.client_env(), "ARMSTFT_LIMITS": str(MUST_FAIL)},
    )
    assert proc.returncode == 1, proc.stdout[-4000:]
    assert junit_outcomes(run) == {("tests.hil.test_limits", "test_p99_within_board_limits"): "failure"}
    verdict = json.loads((run / "board" / "limits.json").read_text())
    assert verdict["ok"] is False and verdict["checks"]
    assert all(not c["ok"] for c in verdict["checks"])
    assert "over" in verdict["summary"] and "must-fail.yaml" in verdict["summary"]


def test_labgrid_path_refuses_a_board_with_another_host_key(acquired, tmp_path):
    """The env's BoardSSHDriver pins the key: a board-out folder whose known_hosts_entry is another key."""
    fake = tmp_path / "board-out"
    (fake / "ssh").mkdir(parents=True)
    (fake / "ssh" / "id_ed25519").symlink_to(board_out() / "ssh" / "id_ed25519")
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    (fake / "ssh" / "known_hosts_entry").write_text(
        " ".join(other.with_suffix(".pub").read_text().split()[:2])
    )
    env = {**acquired.client_env(), "LG_ARMSTFT_BOARD_OUT": str(fake)}
    proc, run = run_pytest(
        tmp_path,
        "--lg-env",
        str(FARM_ENV),
        "tests/hil/test_boot.py::test_ssh_reaches_an_aarch64_board",
        env=env,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    failure = json.loads((run / "run.json").read_text())["failure"]
    assert failure["stage"] == "ssh"
    assert "host key: expected a pinned key, got a different ssh-ed25519 key" in failure["message"]


def test_sdmux_strategy_reads_the_board_address_from_its_console(acquired, monkeypatch):
    """The SD-mux strategy's DHCP-board step (``address_from``), run on the farm board's serial console."""
    for key, value in acquired.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LG_ARMSTFT_BOARD_OUT", str(board_out()))
    target = Environment(str(FARM_ENV)).get_target("main")
    try:
        strategy = target.get_strategy()
        strategy.address_from = "eth0"
        strategy.transition("shell")
        assert strategy.network.address == QEMU_GUEST_ADDRESS
        strategy.address_from = "eth9"
        strategy.ssh_wait = 0.0
        with pytest.raises(Exception, match="the board has no IPv4 address on eth9"):
            strategy.read_address()
    finally:
        strategy.transition("off")
        target.cleanup()


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
