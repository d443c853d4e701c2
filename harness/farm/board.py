"""The emulated board as a farm keeps it: QEMU running on its own, serial console on a pty, SSH forwarded.

In a farm a board is not started by the test run's labgrid env but sits on the exporter host; the exporter
publishes its serial port (ser2net) and its SSH service.  Here that board is the image from
``python -m harness.image.build``, started from the one QEMU definition, ``harness/envs/qemu-aarch64.yaml``
(labgrid's own ``QEMUDriver.get_qemu_base_args()``), with three changes: the serial console goes to a pty (a
"serial port" the exporter can export like a USB adapter's tty), there is no monitor, and the SSH port is
forwarded on the command line instead of over QMP.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

from labgrid import Environment
from labgrid.util.helper import get_free_port

from harness import paths
from harness.drivers.qemudriver import BoardQEMUDriver
from harness.errors import StageError
from harness.farm.processset import ProcessSet

PTY_LINE = re.compile(r"char device redirected to (/dev/pts/\d+) \(label serial0\)")
QEMU_ENV = paths.repo_root() / "harness" / "envs" / "qemu-aarch64.yaml"


def qemu_argv(board_out: Path, ssh_port: int, env_file: Path = QEMU_ENV) -> list[str]:
    """The env's QEMU command for the board in ``board_out``: serial on a pty, SSH on 127.0.0.1:ssh_port."""
    if not (board_out / "rootfs.ext4").is_file():
        raise StageError(
            "booting",
            f"{board_out}: board: expected a built board, got missing (python -m harness.image.build)",
        )
    saved = os.environ.get("LG_ARMSTFT_BOARD_OUT")
    os.environ["LG_ARMSTFT_BOARD_OUT"] = str(board_out)  # the env's !template paths
    try:
        target = Environment(str(env_file)).get_target("main")
        try:
            args = target.get_driver(BoardQEMUDriver, activate=False).get_qemu_base_args()
        finally:
            target.cleanup()
    finally:
        if saved is None:
            os.environ.pop("LG_ARMSTFT_BOARD_OUT")
        else:
            os.environ["LG_ARMSTFT_BOARD_OUT"] = saved
    nic = args.index("-nic") + 1
    args[nic] += f",hostfwd=tcp:127.0.0.1:{ssh_port}-:22"
    return [*(a for a in args if a != "-nographic"), "-display", "none", "-monitor", "none", "-serial", "pty"]


class EmulatedBoard:
    """One running QEMU board: ``serial`` (its pty), ``ssh_port``, the builder's key and known_hosts."""

    def __init__(self, board_out: Path, procs: ProcessSet, name: str = "qemu") -> None:
        self.board_out = Path(board_out)
        self.procs = procs
        self.name = name
        self.ssh_port = get_free_port()
        self.serial: str | None = None
        self.key = self.board_out / "ssh" / "id_ed25519"
        self.known_hosts = self.board_out / "ssh" / "known_hosts_entry"

    def start(self, timeout: float = 30.0) -> EmulatedBoard:
        """Start QEMU and wait until it names its serial pty (the board then boots on its own)."""
        proc = self.procs.start(self.name, qemu_argv(self.board_out, self.ssh_port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = PTY_LINE.search(self.procs.log(self.name))
            if found:
                self.serial = found.group(1)
                return self
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.procs.log(self.name).strip().splitlines()[-1:] or ["no output"]
        raise StageError("booting", f"QEMU gave no serial pty within {timeout:.0f} s: {tail[0]}")

    def wait_ssh(self, timeout: float = 120.0) -> float:
        """Seconds until the SSH server greets on the forwarded port (the board has booted far enough)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                with socket.create_connection(("127.0.0.1", self.ssh_port), timeout=5) as s:
                    s.settimeout(5)
                    if s.recv(64).startswith(b"SSH-"):
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(1)
        raise StageError("ssh", f"no SSH greeting on 127.0.0.1:{self.ssh_port} within {timeout:.0f} s")

    def alive(self) -> bool:
        proc = self.procs.procs.get(self.name)
        return proc is not None and proc.poll() is None

    def stop(self) -> None:
        self.procs.stop(self.name)
