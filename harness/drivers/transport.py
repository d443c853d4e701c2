"""The transport protocol every on-board step uses, whichever way the board is reached (labgrid env or
``--armstft-ssh``): run an argv with a timeout that ends both sides of a hung command, copy files both ways.

Commands go to the board as one shell line: the argv, quoted, under the board's ``timeout -s KILL``, so a hung
program dies on the board too; the host gives up ``HOST_GRACE_S`` later, so a frozen board cannot hang a run.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


class Transport(Protocol):
    """A board reached over some connection; every failure is a ``StageError`` naming ``stage``."""

    where: str

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        """Run ``argv``; a non-zero exit status is returned (tests judge it), a hang or a lost link raised."""
        ...

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        """Copy a regular file or a folder of them; links and special files are refused before any upload."""
        ...

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        """Copy a file or a folder from the board to ``local``; return ``local``."""
        ...


#: a callable that explains a lost connection better than the connection can ("QEMU exited with code -9")
LossReason = Callable[[], str | None]
