"""Boot and reach: the serial console answers (where the board has one), then SSH reaches the same board."""

from __future__ import annotations

import secrets

import pytest

console = pytest.mark.lg_feature("serial-console")


@console
@pytest.mark.stage("booting")
def test_console_answers(board_shell):
    token = secrets.token_hex(8)  # an echo of a fresh token cannot be an old line of the boot log
    out, _, rc = board_shell.run(f"echo console-ok-{token}")
    assert (out, rc) == ([f"console-ok-{token}"], 0)


@console
@pytest.mark.stage("booting")
def test_machine_is_aarch64_on_console(board_shell):
    out, _, rc = board_shell.run("uname -m")
    assert rc == 0
    assert out == ["aarch64"]


@pytest.mark.stage("ssh")
def test_ssh_reaches_an_aarch64_board(board):
    result = board.run(["uname", "-m"], stage="ssh", timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "aarch64"


@console
@pytest.mark.stage("ssh")
def test_console_and_ssh_are_the_same_boot(board, board_shell):
    # ssh implies shell: the serial console still answers after SSH came up, and both see one boot
    ssh_boot = board.run(["cat", "/proc/sys/kernel/random/boot_id"], stage="ssh", timeout=30).stdout.strip()
    out, _, rc = board_shell.run("cat /proc/sys/kernel/random/boot_id")
    assert rc == 0 and out == [ssh_boot]
