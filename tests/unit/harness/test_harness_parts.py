"""Host-side harness parts that need no board: host-key pinning, bundle corruption, stray-process cleanup,
board command lines and the run display's event folding."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from harness.drivers.hostkeys import HostKeyError, pinned_keys
from harness.drivers.transport import board_command
from harness.procs import group_members, kill_group, processes_matching
from harness.run import Progress
from harness.steps.device import corrupt_copy


def test_known_hosts_entry_parses_ignoring_host_patterns(tmp_path):
    f = tmp_path / "known_hosts_entry"
    f.write_text(
        "# baked in\n[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nz keycomment\n* ecdsa-sha2-nistp256 AAAAE2\n"
    )
    assert pinned_keys(f) == {("ssh-ed25519", "AAAAC3Nz"), ("ecdsa-sha2-nistp256", "AAAAE2")}


def test_known_hosts_without_a_key_is_a_clear_error(tmp_path):
    f = tmp_path / "known_hosts_entry"
    f.write_text("# nothing\n")
    with pytest.raises(HostKeyError, match="known_hosts_entry: no host key found"):
        pinned_keys(f)
    with pytest.raises(HostKeyError, match="missing: cannot read"):
        pinned_keys(tmp_path / "missing")


def test_corrupt_copy_flips_the_largest_model_file_only(tmp_path):
    src = tmp_path / "bundle"
    src.mkdir()
    (src / "manifest.json").write_text("{}")
    (src / "model_fp32.pt").write_bytes(bytes(range(256)) * 8)
    (src / "model_int8.pt").write_bytes(b"\x01" * 100)
    victim = corrupt_copy(src, tmp_path / "corrupt")
    assert victim.name == "model_fp32.pt"
    before, after = (src / "model_fp32.pt").read_bytes(), victim.read_bytes()
    assert len(before) == len(after) and before != after
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 16
    assert (tmp_path / "corrupt" / "model_int8.pt").read_bytes() == b"\x01" * 100
    assert (src / "model_fp32.pt").read_bytes() == before  # the original is untouched


def test_board_command_is_bounded_and_quoted():
    line = board_command(["armstft", "verify", "/tmp/a b"], 30)
    assert line == "timeout -s KILL 30 armstft verify '/tmp/a b'; exit $?"


def test_kill_group_ends_every_process_of_a_group():
    # a real process tree in its own session, like the HIL pytest and the QEMU it starts
    marker = f"stray-test-{os.getpid()}-{time.time_ns()}"
    parent = subprocess.Popen(
        ["bash", "-c", f"exec -a {marker} sleep 300 & exec sleep 300"], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 5
        while len(group_members(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(group_members(parent.pid)) == 2
        assert processes_matching(marker)
        killed = kill_group(parent.pid)
        assert len(killed) == 2
        parent.wait(timeout=5)
        assert group_members(parent.pid) == []
        assert processes_matching(marker) == []
    finally:
        if parent.poll() is None:
            parent.kill()


def test_progress_marks_failed_stage_and_closes_earlier_ones():
    p = Progress()
    p.feed(
        [
            {"time": 1.0, "stage": "booting", "event": "start", "test": "t::boot"},
            {"time": 2.0, "stage": "booting", "event": "passed", "test": "t::boot"},
            {"time": 3.0, "stage": "verifying", "event": "start", "test": "t::verify"},
            {"time": 4.0, "stage": "verifying", "event": "failed", "test": "t::verify", "message": "boom"},
        ]
    )
    assert p.stages["booting"].status == "passed"
    assert p.stages["verifying"].status == "failed"
    assert p.stages["verifying"].detail == "boom"
    assert p.stages["benchmarking"].status == "pending"
