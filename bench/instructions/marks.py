"""The marker syscall the emulated guests (torch_guest.py, zoo_guest.py) put between counted calls: the
counting plugin (insn_count.c) splits the instruction stream at each one. Imported before the first mark, so
the import itself is never counted.
"""

from __future__ import annotations

import os

MARK_BASE = 0x4D400000  # insn_count.c's default: marks are sched_get_priority_max(MARK_BASE + i)
_marks = [0]


def mark() -> None:
    """Marker syscall i = 0, 1, ...: sched_get_priority_max(MARK_BASE + i) fails with EINVAL."""
    try:
        os.sched_get_priority_max(MARK_BASE + _marks[0])
    except OSError:
        pass
    _marks[0] += 1
