"""labgrid strategy for the emulated board: states off → shell → ssh.

Why our own strategy and not labgrid's ShellStrategy: the SSH port of a QEMU user-network board is only known
once QEMU runs (we pick a free host port and forward it to the guest's port 22), the ``NetworkService`` must
learn that port before the ``SSHDriver`` activates, and every failure must say which stage broke (booting vs
ssh) instead of labgrid's generic "strategy is in broken state".

Rules the HIL suite relies on:
- ``ssh`` implies ``shell``: asking for ``shell`` while in ``ssh`` does nothing (the serial shell stays up).
- The board is never rebooted between fixtures; only ``off`` stops QEMU.
- A dead QEMU (killed, crashed) is noticed and reported, and ``off`` still cleans up without raising.

The env file loads this module with ``imports: [harness.strategy]`` (the repo root must be importable, which
``python -m pytest`` from the repo root and ``tests/hil/conftest.py`` ensure).
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

from harness.errors import StageError
from harness.hostkey import HostKeyError, check_host_key
from harness.staged import StagedStrategy


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
        known_hosts (str): optional path to the board's ``known_hosts`` entry; when set, the host key the
            board presents over SSH must match it (labgrid's SSHDriver itself does not pin host keys).
        ssh_guest_port (int): the guest's SSH port to forward to.
    """

    bindings: ClassVar[dict[str, str]] = {
        "qemu": "QEMUDriver",
        "shell": "ShellDriver",
        "ssh": "SSHDriver",
        "network": "NetworkService",
    }

    status = attr.ib(default=Status.unknown)
    known_hosts = attr.ib(default="", validator=attr.validators.instance_of(str))
    ssh_guest_port = attr.ib(default=22, validator=attr.validators.instance_of(int))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.boot_seconds: float | None = None
        self.ssh_seconds: float | None = None
        self.ssh_port: int | None = None
        self._console_tail = bytearray()
        steps.subscribe(self._on_step)

    def _on_step(self, event) -> None:
        """Keep the last few KiB the console produced, to quote the board's last words in boot errors."""
        s = event.step
        if s.tag == "console" and s.title == "read" and s.source is self.qemu and s.result:
            if event.data.get("state") == "stop":
                self._console_tail += s.result
                del self._console_tail[:-4096]

    def last_console_line(self) -> str:
        """The most telling recent console line: the last one that reports a problem, else the last text."""
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self._console_tail.decode(errors="replace"))
        lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) > 3]
        for line in reversed(lines):
            if re.search(r"panic|cannot|fail|error|unable|not found|no such", line, re.IGNORECASE):
                return line[:200]
        return lines[-1][:200] if lines else ""

    # --- public helpers ----------------------------------------------------------------------------------

    @property
    def qemu_pid(self) -> int | None:
        """PID of the running QEMU process (fault tests kill it), or None when none is running."""
        child = getattr(self.qemu, "_child", None)
        return child.pid if child is not None and child.poll() is None else None

    def qemu_exit_code(self) -> int | None:
        """The exit code of a QEMU that has died on its own, else None (still running or never started)."""
        child = getattr(self.qemu, "_child", None)
        return None if child is None else child.poll()

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
                    f"{path}: image '{kind}' not found (build it: python -m harness.board.build)",
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
        code = self.qemu_exit_code()
        if code is not None:
            return f"QEMU exited with code {code} before a shell prompt appeared on the serial console"
        last = self.last_console_line()
        return (
            f"no shell prompt on the serial console within {self.shell.login_timeout} s"
            + (f"; last console line: {last!r}" if last else "; the console stayed silent")
            + " (full text in the console log)"
        )

    def _open_ssh(self) -> None:
        started = time.monotonic()
        address = f"{self.network.address}:{self.network.port}"
        try:
            self.target.activate(self.ssh)
        except Exception as e:
            code = self.qemu_exit_code()
            if code is not None:
                raise StageError("ssh", f"QEMU exited with code {code}") from e
            detail = _ssh_failure_detail(e)
            raise StageError(
                "ssh",
                f"no SSH session to {address} within {self.ssh.connection_timeout:.0f} s "
                f"(port closed or sshd not answering: {detail})",
            ) from e
        if self.known_hosts:
            try:
                keyfile = self.target.env.config.resolve_path(self.ssh.keyfile) if self.target.env else ""
                user = self.ssh.username or self.network.username
                check_host_key(Path(self.known_hosts), self.network.address, self.network.port, keyfile, user)
            except HostKeyError as e:
                raise StageError("ssh", str(e)) from e
        self.ssh_seconds = time.monotonic() - started

    def _power_off(self) -> None:
        """Stop QEMU cleanly if it runs, reap it if it died; never raise for an already-dead QEMU."""
        for driver in (self.ssh, self.shell):
            try:
                self.target.deactivate(driver)
            except Exception as e:  # a dead board makes ssh teardown fail; QEMU must still stop
                self.logger.warning("deactivating %s failed: %s", driver, e)
        child = getattr(self.qemu, "_child", None)
        if child is not None and child.poll() is not None:
            # QEMU died on its own: labgrid would try a QMP 'quit' on a closed pipe.
            self.qemu._child = None
            self.qemu.status = 0
        elif child is not None:
            try:
                self.qemu.off()
            except Exception as e:
                self.logger.warning("QEMU did not quit cleanly (%s); killing it", e)
                child.kill()
                child.wait(timeout=10)
                self.qemu._child = None
                self.qemu.status = 0
        self.target.deactivate(self.qemu)


def _ssh_failure_detail(exc: BaseException) -> str:
    """Dig the ssh client's own words out of labgrid's exception chain (it keeps them in ``stdout``)."""
    seen = exc
    while seen is not None:
        out = getattr(seen, "stdout", None)
        if out:
            lines = [
                (ln.decode(errors="replace") if isinstance(ln, bytes) else str(ln)).strip() for ln in out
            ]
            lines = [ln for ln in lines if ln]
            if lines:
                return lines[-1]
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__
