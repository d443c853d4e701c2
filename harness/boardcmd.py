"""Run commands on a board over labgrid's SSH connection, with timeouts that end both sides of a hung command.

labgrid's ``SSHDriver.run`` leaves the local ssh client running when its timeout fires and has no board-side
limit at all.  Here every command is wrapped in the board's ``timeout -s KILL`` (so a hung program dies on the
board too) and the local ssh client is killed after a grace period (so a frozen board cannot hang the run).
The command rides on the SSHDriver's ControlMaster (``ssh_prefix``), so no new SSH handshake per command.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BoardCommandTimeout, StageError

#: extra seconds the host waits beyond the board-side timeout before it declares the board frozen
HOST_GRACE_S = 20.0
KILLED_RC = 128 + 9


@dataclass(frozen=True)
class CommandResult:
    """What one board command produced."""

    command: str
    stdout: str
    stderr: str
    returncode: int
    seconds: float

    def stderr_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


def board_command(argv: Sequence[str], timeout_s: int) -> str:
    """The shell command line run on the board: the program under ``timeout -s KILL``.

    The trailing ``exit $?`` stops the board's shell from exec-ing the last command, so a KILL shows up as
    exit status 137 rather than as an ssh-level signal.
    """
    return f"timeout -s KILL {int(timeout_s)} {shlex.join(argv)}; exit $?"


class Board:
    """A board reached by an active labgrid SSHDriver.

    ``qemu_exit_code`` (optional) lets error messages say "QEMU died" instead of a bare ssh failure.
    """

    def __init__(self, ssh, qemu_exit_code: Callable[[], int | None] | None = None) -> None:
        self.ssh = ssh
        self._qemu_exit_code = qemu_exit_code or (lambda: None)

    def _ssh_argv(self, remote: str) -> list[str]:
        ns = self.ssh.networkservice
        user = self.ssh.username or ns.username
        return [self.ssh._ssh, "-x", *self.ssh.ssh_prefix, "-p", str(ns.port), "-l", user, ns.address, remote]

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        """Run ``argv`` on the board; raise StageError if it hangs or the connection is lost.

        A non-zero exit status of the program itself is returned, not raised: tests judge it.
        """
        remote = board_command(argv, int(timeout))
        shown = shlex.join(argv)
        started = time.monotonic()
        proc = subprocess.Popen(
            self._ssh_argv(remote), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            out, err = proc.communicate(timeout=timeout + HOST_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise BoardCommandTimeout(
                stage, f"`{shown}` gave no answer within {timeout + HOST_GRACE_S:.0f} s (board frozen?)"
            ) from None
        seconds = time.monotonic() - started
        result = CommandResult(
            shown, out.decode(errors="replace"), err.decode(errors="replace"), proc.returncode, seconds
        )
        if result.returncode == KILLED_RC and seconds >= timeout - 1:
            raise BoardCommandTimeout(stage, f"`{shown}` hung: killed on the board after {int(timeout)} s")
        if result.returncode == 255:
            code = self._dead_qemu()
            if code is not None:
                raise StageError(stage, f"QEMU exited with code {code} while running `{shown}`")
            last = result.stderr_lines()[-1:] or ["no message"]
            raise StageError(stage, f"lost the SSH connection while running `{shown}`: {last[0]}")
        return result

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        """Copy a file or directory to the board (scp -r through the ControlMaster)."""
        try:
            self.ssh.put(str(local), remote)
        except Exception as e:
            raise StageError(stage, f"copying {local} to the board failed: {self._why(e)}") from e

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        """Copy a file from the board to ``local``; return the local path."""
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.ssh.get(remote, str(local))
        except Exception as e:
            raise StageError(stage, f"copying {remote} from the board failed: {self._why(e)}") from e
        return local

    def _dead_qemu(self, wait_s: float = 3.0) -> int | None:
        """QEMU's exit code if it died, waiting briefly: a killed QEMU closes its sockets (so ssh/scp fail)
        a moment before its exit status can be collected."""
        deadline = time.monotonic() + wait_s
        while True:
            code = self._qemu_exit_code()
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(0.1)

    def _why(self, exc: Exception) -> str:
        """A dead QEMU explains a failed transfer better than scp's command line does."""
        code = self._dead_qemu()
        if code is not None:
            return f"QEMU exited with code {code}"
        return f"scp failed ({type(exc).__name__})"
