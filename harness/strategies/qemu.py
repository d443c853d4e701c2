"""labgrid strategy for the emulated board: states off → shell → ssh.

Why our own strategy and not labgrid's ShellStrategy: the SSH port of a QEMU user-network board is only known
once QEMU runs (a free host port is forwarded to the guest's port 22), the ``NetworkService`` must learn that
port before the SSH driver activates, and every failure must say which stage broke (booting vs ssh) instead
of labgrid's generic "strategy is in broken state".  The rules shared with the SD-mux strategy (ordered
states, ssh implies shell, no reboot between fixtures, failures remembered) are ``StagedStrategy``'s.

A dead QEMU (killed, crashed) is noticed (``BoardQEMUDriver.exit_code``) and named in every error, and ``off``
still cleans up without raising.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import attr
from labgrid.factory import target_factory
from labgrid.step import steps
from labgrid.util.helper import get_free_port

from harness.drivers.qemudriver import BoardQEMUDriver
from harness.drivers.sshdriver import BoardSSHDriver
from harness.errors import StageError, one_line, stage_cause
from harness.strategies.staged import StagedStrategy


class Status(enum.Enum):
    """Board states, in the order they are reached."""

    unknown = 0
    off = 1
    shell = 2
    ssh = 3


@target_factory.reg_driver
@attr.s(eq=False)
class QEMUBoardStrategy(StagedStrategy):
    """Boot a QEMU board to a serial shell, then open SSH through a dynamically forwarded host port.

    Args:
        ssh_guest_port (int): the guest's SSH port to forward to.
    """

    bindings: ClassVar[dict[str, str]] = {
        "qemu": "BoardQEMUDriver",
        "shell": "ShellDriver",
        "ssh": "BoardSSHDriver",
        "network": "NetworkService",
    }
    qemu: BoardQEMUDriver
    ssh: BoardSSHDriver

    status = attr.ib(default=Status.unknown)
    ssh_guest_port = attr.ib(default=22, validator=attr.validators.instance_of(int))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.boot_seconds: float | None = None
        self.ssh_seconds: float | None = None
        self.ssh_port: int | None = None
        self.console_tail = bytearray()
        self.ssh.loss_reason = self.loss_reason
        steps.subscribe(self._on_step)

    def _on_step(self, event) -> None:
        """Keep the last few KiB the console produced, to quote the board's last words in boot errors."""
        s = event.step
        if s.tag == "console" and s.title == "read" and s.source is self.qemu and s.result:
            if event.data.get("state") == "stop":
                self.console_tail += s.result
                del self.console_tail[:-4096]

    def last_console_line(self) -> str:
        """The most telling recent console line: the last one that reports a problem, else the last text."""
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.console_tail.decode(errors="replace"))
        lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) > 3]
        for line in reversed(lines):
            if re.search(r"panic|cannot|fail|error|unable|not found|no such", line, re.IGNORECASE):
                return line[:200]
        return lines[-1][:200] if lines else ""

    # --- public helpers ----------------------------------------------------------------------------------

    @property
    def qemu_pid(self) -> int | None:
        """PID of the running QEMU process, or None when none is running."""
        return self.qemu.pid

    def loss_reason(self) -> str | None:
        """Why a board connection died, when QEMU did: "QEMU exited with code N"."""
        code = self.qemu.exit_code()
        return None if code is None else f"QEMU exited with code {code}"

    # --- transitions -------------------------------------------------------------------------------------

    def stages(self) -> list[tuple[Status, Callable[[], None]]]:
        return [(Status.shell, self._boot_to_shell), (Status.ssh, self._open_ssh)]

    # --- steps -------------------------------------------------------------------------------------------

    def _check_images(self) -> None:
        config = self.target.env.config if self.target.env else None
        if config is None:
            return
        for kind in (self.qemu.kernel, self.qemu.disk):
            if kind is None:
                continue
            path = Path(config.get_image_path(kind))
            if not path.is_file():
                raise StageError(
                    "booting",
                    f"{path}: image '{kind}' not found (build it: python -m harness.image.build)",
                )

    def _boot_to_shell(self) -> None:
        self._check_images()
        self.target.activate(self.qemu)
        started = time.monotonic()
        try:
            self.qemu.on()
        except Exception as e:
            raise StageError("booting", f"QEMU did not start: {e}") from e
        self.ssh_port = get_free_port()
        self.qemu.add_port_forward("tcp", "127.0.0.1", self.ssh_port, "", self.ssh_guest_port)
        self.network.port = self.ssh_port
        try:
            self.target.activate(self.shell)
        except Exception as e:
            raise StageError("booting", self._boot_failure(e)) from e
        self.boot_seconds = time.monotonic() - started

    def _boot_failure(self, exc: Exception) -> str:
        dead = self.loss_reason()
        if dead:
            return f"{dead} before a shell prompt appeared on the serial console"
        last = self.last_console_line()
        return (
            f"no shell prompt on the serial console within {self.shell.login_timeout} s"
            + (f"; last console line: {last!r}" if last else "; the console stayed silent")
            + " (full text in the console log)"
        )

    def _open_ssh(self) -> None:
        started = time.monotonic()
        try:
            self.target.activate(self.ssh)
        except Exception as e:
            dead = self.loss_reason()
            if dead:
                raise StageError("ssh", dead) from e
            cause = stage_cause(e)
            raise StageError("ssh", cause.reason if cause else one_line(e)) from e
        self.ssh_seconds = time.monotonic() - started

    def _power_off(self) -> None:
        """Close the connections and stop QEMU; never raise for an already-dead QEMU."""
        for driver in (self.ssh, self.shell, self.qemu):
            try:
                self.target.deactivate(driver)
            except Exception as e:  # a dead board makes ssh teardown fail; QEMU must still stop
                self.logger.warning("deactivating %s failed: %s", driver, e)
