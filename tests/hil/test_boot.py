"""Boot: the board reaches a shell on its serial console within the env's stated budget, then SSH."""

from __future__ import annotations

import pytest


@pytest.mark.stage("booting")
def test_boot_reaches_shell_within_budget(board_shell, powered_board):
    budget = board_shell.login_timeout
    assert powered_board.boot_seconds is not None
    assert powered_board.boot_seconds <= budget, f"boot took {powered_board.boot_seconds:.1f} s > {budget} s"
    out, _, rc = board_shell.run("echo console-ok")
    assert (out, rc) == (["console-ok"], 0)


@pytest.mark.stage("booting")
def test_machine_is_aarch64_on_console(board_shell):
    out, _, rc = board_shell.run("uname -m")
    assert rc == 0
    assert out == ["aarch64"]


@pytest.mark.stage("ssh")
def test_ssh_reaches_the_same_board(board, board_shell):
    result = board.run(["uname", "-m"], stage="ssh", timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "aarch64"
    # ssh implies shell: the serial console still answers after SSH came up, without a reboot
    out, _, rc = board_shell.run("cat /proc/uptime")
    assert rc == 0 and float(out[0].split()[0]) > 0
