"""labgrid driver: labgrid's QEMUDriver plus what a HIL run needs to know about the emulator process.

A board run must say "QEMU exited with code -9" instead of a bare SSH error, find the QEMU of a run, and power
off cleanly even when QEMU already died (labgrid's ``off()`` would send QMP ``quit`` into a closed pipe).  All
of it comes from QEMU's own ``-pidfile`` and the kernel's child status (``waitid`` with ``WNOWAIT``, which
reads a dead child's status without reaping it), never from the driver's private process handle.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import attr
from labgrid.driver.qemudriver import QEMUDriver
from labgrid.factory import target_factory
from labgrid.step import step


@target_factory.reg_driver
@attr.s(eq=False)
class BoardQEMUDriver(QEMUDriver):
    """QEMUDriver with ``pid``, ``exit_code()`` and an ``off()`` that copes with a dead QEMU."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.configured_args = self.extra_args
        self.piddir: str | None = None
        self.last_pid: int | None = None
        self.last_exit: int | None = None

    def on_activate(self) -> None:
        self.piddir = tempfile.mkdtemp(prefix="armstft-qemu-")
        self.extra_args = f"{self.configured_args} -pidfile {self.piddir}/qemu.pid".strip()
        super().on_activate()

    def on_deactivate(self) -> None:
        try:
            super().on_deactivate()
        finally:
            if self.piddir:
                shutil.rmtree(self.piddir, ignore_errors=True)
            self.piddir = None

    @step()
    def on(self) -> None:
        self.last_exit = None
        super().on()
        self.last_pid = int(Path(self.piddir, "qemu.pid").read_text().split()[0])

    @property
    def pid(self) -> int | None:
        """PID of the running QEMU, None when none runs."""
        return self.last_pid if self.last_pid is not None and self.exit_code() is None else None

    def exit_code(self) -> int | None:
        """The exit status of a QEMU that has ended (negative: killed by that signal), None while it runs."""
        if self.last_exit is not None or self.last_pid is None:
            return self.last_exit
        try:
            info = os.waitid(os.P_PID, self.last_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped (labgrid's own off() waits for it)
            return self.last_exit
        if info is None:
            return None
        self.last_exit = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        return self.last_exit

    @step()
    def off(self) -> None:
        """Quit QEMU over QMP; if it is dead already or does not quit, reap (kill) it, mark it off."""
        if not self.status:
            return
        if self.exit_code() is None:
            try:
                super().off()
                return
            except Exception as e:
                self.logger.warning("QEMU did not quit cleanly (%s); killing it", e)
                if self.exit_code() is None:
                    os.kill(self.last_pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(self.last_pid, 0)
            self.last_exit = (
                self.last_exit if self.last_exit is not None else os.waitstatus_to_exitcode(status)
            )
        except ChildProcessError:
            pass
        self.status = 0  # labgrid's own power state, kept true: QEMU is gone
