"""Start helper processes (QEMU, coordinator, exporter) so that every one of them, and anything they spawn,
can be stopped and proven gone.

Each process starts in a new session (``start_new_session``); its children (the exporter's ser2net, for
example) inherit that session id.  "No strays" is then a fact read from /proc, not a guess by process name:
after ``stop()`` no live process may carry one of our session ids.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from harness.proctable import cmdline, processes_matching, session_members


def processes_mentioning(needle: str) -> list[str]:
    """Live processes whose command line contains ``needle`` (a port, a pty path): strays started by *others*
    on our behalf, such as the ssh ControlMaster labgrid's SSHDriver keeps for a board."""
    return [f"{pid} {cmdline(pid)[:160]}" for pid in processes_matching(needle)]


class ProcessSet:
    """The processes one farm started; ``stop()`` ends them in reverse order, ``strays()`` checks /proc."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.sessions: list[int] = []

    def start(
        self, name: str, argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start ``argv`` with stdout+stderr in ``<logdir>/<name>.log``."""
        log = open(self.logdir / f"{name}.log", "ab")  # the child keeps its own copy
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs[name] = proc
        self.sessions.append(proc.pid)  # a session leader's sid is its pid
        return proc

    def log(self, name: str) -> str:
        try:
            return (self.logdir / f"{name}.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, name: str, grace_s: float = 10.0) -> None:
        """SIGTERM the process's whole session, SIGKILL what is left after ``grace_s``; reap the leader."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            members = session_members(proc.pid)
            if proc.poll() is None and proc.pid not in members:
                members.append(proc.pid)
            if not members:
                break
            for pid in members:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                proc.poll()
                if not session_members(proc.pid):
                    break
                time.sleep(0.1)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)

    def strays(self) -> list[str]:
        """Command lines of live processes still in one of our sessions (must be empty after stop_all)."""
        return [f"{pid} {cmdline(pid)[:160]}" for sid in self.sessions for pid in session_members(sid)]
