"""One exception type for everything that stops a board run, always naming the stage it happened in.

A HIL run fails in many layers (QEMU, the serial console, SSH, the board's CLI); the person reading a red CI
job only needs to know *which stage* broke and *why* in one line, so every layer converts its failure into
this.  The stages, in the order a run goes through them, live here too: every layer names them.
"""

from __future__ import annotations

#: the order a board run goes through; the HIL suite runs its tests in this order whatever their file names
STAGES = ("booting", "ssh", "pushing", "verifying", "benchmarking")


class StageError(Exception):
    """A board run stopped in ``stage`` (booting, ssh, verifying, benchmarking, ...) because of ``reason``."""

    def __init__(self, stage: str, reason: str) -> None:
        self.stage = stage
        self.reason = reason
        super().__init__(f"stage '{stage}' failed: {reason}")


class FieldError(ValueError):
    """``<file>: <field>: expected X, got Y`` for a document (board JSON, limits file) that cannot be used."""

    def __init__(self, path: object, field: str, expected: str, got: object) -> None:
        shown = got if isinstance(got, str | int | float) and len(str(got)) < 60 else type(got).__name__
        super().__init__(f"{path}: {field}: expected {expected}, got {shown}")


class BoardCommandTimeout(StageError):
    """A board-side command did not finish within its timeout (it hung or the board froze)."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 300 characters: for messages that must stay one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def stage_cause(exc: BaseException) -> StageError | None:
    """labgrid and pytest wrap our errors; find the StageError in the cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StageError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
