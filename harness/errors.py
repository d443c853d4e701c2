"""One exception type for everything that stops a board run, always naming the stage it happened in.

A HIL run fails in many layers (QEMU, pexpect, ssh, the board's CLI); the person reading a red CI job only
needs to know *which stage* broke and *why* in one line, so every layer converts its failure into this.
"""

from __future__ import annotations


class StageError(Exception):
    """A board run stopped in ``stage`` (booting, ssh, verifying, benchmarking, ...) because of ``reason``."""

    def __init__(self, stage: str, reason: str) -> None:
        self.stage = stage
        self.reason = reason
        super().__init__(f"stage '{stage}' failed: {reason}")


class BoardCommandTimeout(StageError):
    """A board-side command did not finish within its timeout (it hung or the board froze)."""
