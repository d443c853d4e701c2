"""Every way a run can end leaves junit.xml and report.md written from what was recorded: a whole-suite
timeout, Ctrl-C, and a pytest that dies.  Each is caused for real with ``python -m harness.run --ssh`` on the
farm's board while a real board command hangs (``tests/faults/hang_plugin.py`` with a one-hour ``sleep``); the
signals are aimed at the moment the run announces that command, never after a guessed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.boards.conftest import REPO
from tests.boards.test_ssh_path import on_board

HANG = "sleep 3600"


def _as_terminal_foreground() -> None:
    """Ctrl-C reaches a terminal's foreground process with SIGINT at its default; a test run started in the
    background by a non-interactive shell (CI's ``cmd &``) passes SIGINT on *ignored*, and Python keeps an
    ignored SIGINT ignored: restore the default, as the terminal would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(board, tmp_path: Path, *args: str) -> subprocess.Popen:
    argv = [
        sys.executable, "-m", "harness.run", "--plain", "--ssh", f"root@127.0.0.1:{board.ssh_port}",
        "--key", str(board.key), "--known-hosts", str(board.known_hosts), "--board", "exits",
        "--results-root", str(tmp_path / "results"), "--pytest-args=-p tests.faults.hang_plugin", *args,
    ]  # fmt: skip
    env = {**os.environ, "ARMSTFT_TEST_HANG_S": "3600"}
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_terminal_foreground,
    )


def run_folder(tmp_path: Path) -> Path:
    found = sorted((tmp_path / "results" / "exits").glob("*"))
    return found[0] if found else tmp_path / "none"


def wait_for_hang(proc: subprocess.Popen, tmp_path: Path, timeout: float = 300) -> Path:
    """The run folder, once its progress announced the hanging board command."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended early:\n{proc.communicate()[1][-3000:]}"
        progress = run_folder(tmp_path) / "progress.jsonl"
        if progress.is_file() and HANG in progress.read_text():
            return progress.parent
        time.sleep(0.2)
    pytest.fail(f"the run never ran `{HANG}` within {timeout} s")


def ended(proc: subprocess.Popen, board, timeout: float = 300) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        on_board(
            board, "sh", "-c", "pkill -f 'slee[p] 3600' || true"
        )  # the board-side sleep outlives its link
    return err


def junit_cases(run: Path) -> dict[str, tuple[str, str]]:
    """{test name: (outcome tag, message)} from junit.xml."""
    cases = {}
    for case in ET.parse(run / "junit.xml").getroot().iter("testcase"):
        tags = [(c.tag, c.get("message", "")) for c in case if c.tag in ("failure", "error", "skipped")]
        cases[case.get("name")] = tags[0] if tags else ("passed", "")
    return cases


def assert_written(run: Path, status: str, why: str) -> None:
    cases = junit_cases(run)
    assert cases["test_pushed_bundle_matches_the_host_bundle"] == ("passed", "")  # recorded before the stop
    stopped = [(tag, message) for tag, message in cases.values() if tag == "error"]
    assert stopped and why in stopped[0][1], cases
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == status
    assert f"**status**: {status}" in (run / "report.md").read_text()


def test_suite_timeout_writes_junit_and_report(emulated_board, tmp_path):
    proc = start(emulated_board, tmp_path, "--timeout", "150")
    err = ended(proc, emulated_board)
    assert proc.returncode == 124, err[-3000:]
    assert "FAILED in stage 'suite': suite exceeded 150 s" in err
    assert_written(run_folder(tmp_path), "interrupted", "interrupted")


def test_ctrl_c_writes_junit_and_report(emulated_board, tmp_path):
    proc = start(emulated_board, tmp_path)
    run = wait_for_hang(proc, tmp_path)
    proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends to the foreground process
    err = ended(proc, emulated_board)
    assert proc.returncode == 130, err[-3000:]
    assert "FAILED in stage 'suite': interrupted (Ctrl-C)" in err
    assert_written(run, "interrupted", "interrupted")


def test_a_crashed_suite_still_leaves_junit_and_report(emulated_board, tmp_path):
    proc = start(emulated_board, tmp_path)
    run = wait_for_hang(proc, tmp_path)
    os.kill(json.loads((run / "run.json").read_text())["suite_pid"], signal.SIGKILL)  # pytest dies mid-test
    err = ended(proc, emulated_board)
    assert proc.returncode == 1, err[-3000:]
    assert_written(run, "failed", "the suite process died (signal 9) while this test ran")
