"""This host as a ``Transport``: the host job runs the board's very steps (the same step runner, the same
CLI batch, the same bench command) here, so "works on the host" and "works on the board" are one code path.

Commands run under the same ``timeout -s KILL`` line as on a board, with this interpreter's environment first
on PATH, so ``python3`` and ``armstft`` are the venv's (the board's are its own).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from harness.drivers.transport import HOST_GRACE_S, CommandResult, board_command
from harness.errors import StageError


class LocalTransport:
    """Runs ``argv`` on this host; ``put``/``get`` are copies."""

    where = "this host"

    def __init__(self) -> None:
        self.env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}

    def run(self, argv: Sequence[str], *, stage: str, timeout: float) -> CommandResult:
        command = board_command(argv, int(timeout))
        started = time.monotonic()
        try:
            done = subprocess.run(
                ["sh", "-c", command],
                capture_output=True,
                text=True,
                errors="replace",
                env=self.env,
                timeout=timeout + HOST_GRACE_S,
            )
        except subprocess.TimeoutExpired:
            raise StageError(
                stage, f"`{command}` did not end within {timeout + HOST_GRACE_S:.0f} s"
            ) from None
        return CommandResult(command, done.stdout, done.stderr, done.returncode, time.monotonic() - started)

    def put(self, local: Path, remote: str, *, stage: str) -> None:
        self._copy(Path(local), Path(remote), stage)

    def get(self, remote: str, local: Path, *, stage: str) -> Path:
        self._copy(Path(remote), Path(local), stage)
        return Path(local)

    @staticmethod
    def _copy(source: Path, dest: Path, stage: str) -> None:
        try:
            if source.is_dir():
                shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, dest)
        except OSError as err:
            raise StageError(stage, f"{source}: copy to {dest}: {err.strerror or err}") from None
