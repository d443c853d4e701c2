"""Find and end the processes a board run left behind (QEMU above all), by process group, via /proc.

The HIL pytest runs in its own process group; QEMU, started by labgrid with a plain Popen, inherits it.  So
"no stray QEMU" is checkable and enforceable without guessing by name: whatever is still in that group after
pytest ended is a stray.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after its closing ')'
    return text[text.rindex(")") + 2 :].split()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _members(field: int, value: int) -> list[int]:
    """Live (non-zombie) processes whose stat field ``field`` (2: process group, 3: session) is ``value``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields[0] is the state
        if fields and fields[0] != "Z" and int(fields[field]) == value:
            found.append(int(entry.name))
    return found


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    return _members(2, pgid)


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) processes in session ``sid``."""
    return _members(3, sid)


def processes_matching(*needles: str) -> list[int]:
    """Live processes whose command line contains every needle (e.g. 'qemu-system', a run's image dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            line = cmdline(int(entry.name))
            fields = _stat_fields(int(entry.name))
            if line and fields and fields[0] != "Z" and all(n in line for n in needles):
                found.append(int(entry.name))
    return found


def kill_group(pgid: int, grace_s: float = 5.0) -> list[str]:
    """TERM, then KILL, every process of the group; return the command lines that were still there."""
    members = group_members(pgid)
    killed = [f"{pid} {cmdline(pid)[:200]}" for pid in members]
    if not members:
        return []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return killed
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.1)
        if not group_members(pgid):
            break
    return killed
