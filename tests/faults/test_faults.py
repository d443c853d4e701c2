"""Faults, each caused for real against the emulated board, through the real main job (``harness.run``).

Every fault must end with: a non-zero exit, one clear line naming the failed stage, the console log kept,
the results gathered so far written (tests.jsonl, report.md), and no QEMU process left behind.

Each run gets its own board folder of symlinks to the built image: QEMU's command line then contains that
unique path, which is how "no stray QEMU" is checked without touching anybody else's QEMU.
Run: ``python -m pytest tests/faults`` (needs the built image: ``python -m harness.image.build``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import paths
from harness.proctable import processes_matching
from harness.results.runfolder import RunResults

REPO = paths.repo_root()
ENV = REPO / "harness" / "envs" / "qemu-aarch64.yaml"
BOARD_OUT = Path(os.environ.get("LG_ARMSTFT_BOARD_OUT") or paths.board_out())
IMAGE_FILES = ("vmlinuz", "initrd.img", "rootfs.ext4")

pytestmark = pytest.mark.skipif(
    not all((BOARD_OUT / f).is_file() for f in IMAGE_FILES),
    reason=f"emulated board image not built in {BOARD_OUT} (python -m harness.image.build)",
)


def make_board(tmp_path: Path, *, bad_rootfs: bool = False) -> Path:
    """A private board folder: symlinks to the real image, or a rootfs that cannot mount."""
    board = tmp_path / "board"
    board.mkdir()
    for name in (*IMAGE_FILES, "ssh"):
        (board / name).symlink_to(BOARD_OUT / name)
    if bad_rootfs:
        (board / "rootfs.ext4").unlink()
        with open(board / "rootfs.ext4", "wb") as f:  # 64 MiB of zeros: no filesystem at all
            f.truncate(64 * 1024 * 1024)
    return board


def make_env(tmp_path: Path, edits: dict[str, str]) -> Path:
    """The real env file with a few exact text edits (each must apply exactly once)."""
    text = ENV.read_text()
    for old, new in edits.items():
        assert text.count(old) == 1, f"env edit {old!r} does not apply exactly once"
        text = text.replace(old, new)
    path = tmp_path / "env.yaml"
    path.write_text(text)
    return path


def start_run(tmp_path: Path, board: Path, env: Path, pytest_args: str = "-x") -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "harness.run",
        "--skip-build",
        "--plain",
        "--env",
        str(env),
        "--results-root",
        str(tmp_path / "results"),
        f"--pytest-args={pytest_args}",
    ]
    environ = {**os.environ, "LG_ARMSTFT_BOARD_OUT": str(board)}
    return subprocess.Popen(
        cmd, cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_dir(tmp_path: Path) -> RunResults:
    found = sorted((tmp_path / "results").glob("*/*/"))
    assert len(found) == 1, found
    return RunResults(found[0])


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"harness.run did not end within {timeout} s:\n{err[-3000:]}")
    return out + err


def assert_clean_failure(
    proc: subprocess.Popen, output: str, tmp_path: Path, board: Path, stage: str
) -> RunResults:
    assert proc.returncode != 0, output[-2000:]
    assert f"FAILED in stage '{stage}'" in output, output[-2000:]
    results = run_dir(tmp_path)
    meta = results.meta()
    assert meta["failure"]["stage"] == stage
    assert meta["status"] == "failed"
    console = results.root / "console_main"
    assert console.is_file() and console.stat().st_size > 200, "console log not kept"
    report = (results.root / "report.md").read_text()
    assert f"Failed in stage `{stage}`" in report
    assert (results.root / "junit.xml").is_file()
    assert processes_matching("qemu-system", str(board)) == [], "a QEMU of this run is still running"
    print(f"{stage}: {meta['failure']['message']} (results: {results.root})")  # shown with -rP
    return results


def wait_for_command(proc: subprocess.Popen, results_root: Path, needle: str, timeout: float) -> RunResults:
    """Wait until the suite announces (progress.jsonl) the board command containing ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before running {needle!r}:\n{finish(proc)[-3000:]}")
        found = sorted(results_root.glob("*/*/"))
        if found:
            results = RunResults(found[0])
            if any(e.get("event") == "command" and needle in e.get("command", "") for e in results.events()):
                return results
        time.sleep(0.2)
    pytest.fail(f"the run never ran {needle!r} within {timeout} s")


def test_qemu_killed_mid_suite(tmp_path):
    board = make_board(tmp_path)
    proc = start_run(tmp_path, board, make_env(tmp_path, {}))
    wait_for_command(proc, tmp_path / "results", "runsteps.py", timeout=300)  # the board-side batch started
    pids = processes_matching("qemu-system", str(board))
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)
    output = finish(proc)
    results = assert_clean_failure(proc, output, tmp_path, board, "verifying")
    assert "QEMU exited with code -9 while running `python3 " in results.meta()["failure"]["message"]
    passed = {t["test"].split("::")[-1] for t in results.tests() if t["outcome"] == "passed"}
    assert {"test_console_answers", "test_pushed_bundle_matches_the_host_bundle"} <= passed  # kept


def test_board_never_reaches_a_prompt(tmp_path):
    board = make_board(tmp_path, bad_rootfs=True)
    env = make_env(tmp_path, {"login_timeout: 90": "login_timeout: 20"})
    proc = start_run(tmp_path, board, env)
    started = time.monotonic()
    output = finish(proc)
    results = assert_clean_failure(proc, output, tmp_path, board, "booting")
    message = results.meta()["failure"]["message"]
    assert "no shell prompt on the serial console within 20 s" in message
    assert "cannot mount" in message  # the board's own last words are quoted
    assert time.monotonic() - started < 120


def test_ssh_port_closed(tmp_path):
    board = make_board(tmp_path)
    # forward the host port to a guest port nothing listens on: the board is up, its SSH port is closed
    env = make_env(
        tmp_path,
        {
            "connection_timeout: 30.0": "connection_timeout: 8.0",
            "ssh_guest_port: 22 ": "ssh_guest_port: 2222 ",
        },
    )
    proc = start_run(tmp_path, board, env)
    output = finish(proc)
    results = assert_clean_failure(proc, output, tmp_path, board, "ssh")
    assert "root@127.0.0.1:" in results.meta()["failure"]["message"]
    assert "did not answer within 8 s" in results.meta()["failure"]["message"]
    passed = {t["test"].split("::")[-1] for t in results.tests() if t["outcome"] == "passed"}
    assert {"test_console_answers", "test_machine_is_aarch64_on_console"} <= passed


def test_board_command_hangs(tmp_path):
    board = make_board(tmp_path)
    proc = start_run(tmp_path, board, make_env(tmp_path, {}), pytest_args="-x -p tests.faults.hang_plugin")
    output = finish(proc)
    results = assert_clean_failure(proc, output, tmp_path, board, "verifying")
    assert "`sleep 3600` hung: killed on the board after 5 s" in results.meta()["failure"]["message"]
