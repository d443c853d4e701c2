"""Host-side harness parts that need no board: host-key pinning, bundle corruption, stray-process cleanup,
board command lines, the run display's event folding and the options harness.run passes on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from harness.drivers.hostkeys import HostKeyError, pinned_keys
from harness.drivers.transport import board_command
from harness.proctable import group_members, kill_group, processes_matching
from harness.pytestplugin.options import OPTIONS, PREFIX, value
from harness.run import REPO, Progress, parse_args, transport_args
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


def test_run_forwards_only_what_the_user_gave_as_the_plugins_options(tmp_path):
    args = parse_args(["--ssh", "root@192.0.2.4:2222", "--case-seconds", "240", "--bench-args=--seconds 2"])
    assert transport_args(args) == [
        "--armstft-ssh=root@192.0.2.4:2222",
        "--armstft-bench-args=--seconds 2",
        "--armstft-case-seconds=240.0",
    ]
    env = parse_args(["--env", str(tmp_path / "board.yaml"), "--bundle", str(tmp_path / "b")])
    assert transport_args(env) == [
        "--lg-env",
        str((tmp_path / "board.yaml").resolve()),
        f"--armstft-bundle={tmp_path / 'b'}",
    ]
    assert value(env, "results-root") == REPO / "results"  # the plugin's default, declared once


@pytest.mark.parametrize("bad", [["--case-seconds", "0"], ["--case-seconds", "inf"], ["--board-name", "x"]])
def test_run_refuses_bad_forwarded_options(bad):
    with pytest.raises(SystemExit) as exit_:
        parse_args(bad)
    assert exit_.value.code == 2


def test_plugin_and_run_declare_the_same_options():
    """The real pytest, loading the plugin as the HIL suite does, offers every option of the one table."""
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/hil", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    declared = set(re.findall(r"(--armstft-[a-z-]+)", shown))
    assert declared == {PREFIX + o.name for o in OPTIONS}
