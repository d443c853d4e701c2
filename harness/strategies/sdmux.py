"""labgrid strategy for real boards booting from an SD card: states off → flashed → shell → ssh.

A Raspberry Pi boots whatever is on its SD card, so a test run starts by putting the image under test
there: power off, switch the SD mux to the host, write the ``.wic``/``.wic.bz2`` with bmaptool (labgrid's
``USBStorageDriver``, which finds the ``.bmap`` beside the image), switch the card back to the board, power
on, log in on the serial console, then open SSH.

Why our own strategy rather than labgrid's ShellStrategy: the HIL plugin (``harness.pytestplugin``) needs the
same small interface from every board (``boot_seconds``, ``ssh_port``, ``ssh_seconds``, ``loss_reason()``),
every failure must name its stage (powering, flashing, booting, ssh) as a ``StageError``, and the image is
chosen per run (kas deploy folder, ``ARMSTFT_IMAGE``).

Power, SD mux and storage are *optional* bindings.  A board-farm place whose board is kept running by the farm
(the loopback CI farm, ``harness/envs/farm-qemu.yaml``) has neither: ``off`` then only closes our connections,
``flashed`` is skipped with a note, and ``shell`` just logs in.  A real desk board declares all three.

Rules shared with ``harness.strategies.qemu.QEMUBoardStrategy``: ``ssh`` implies ``shell``; no reboot between
fixtures; a failed boot is reported again instead of retried for every test.  ``off`` never fails because a
connection is already dead; it does fail when the power switch does (the board's state is then unknown).
"""

from __future__ import annotations

import enum
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import attr
from labgrid.driver.usbstoragedriver import Mode
from labgrid.factory import target_factory

from harness.drivers.sshdriver import BoardSSHDriver
from harness.errors import StageError, one_line, stage_cause
from harness.strategies.staged import StagedStrategy

#: overrides the env's image path for one run (.wic / .wic.bz2 / .wic.gz; the .bmap is looked up beside it)
IMAGE_ENV = "ARMSTFT_IMAGE"
#: set to 1 to boot what is already on the card (bring-up, or re-running tests without re-flashing)
SKIP_FLASH_ENV = "ARMSTFT_SKIP_FLASH"


class Status(enum.Enum):
    """Board states, in the order they are reached."""

    unknown = 0
    off = 1
    flashed = 2
    shell = 3
    ssh = 4


@target_factory.reg_driver
@attr.s(eq=False)
class SDMuxBoardStrategy(StagedStrategy):
    """Flash an SD card through a mux, power-cycle the board, log in on serial, then SSH.

    Args:
        image (str): key in the env's ``images:`` for the SD card image (``ARMSTFT_IMAGE`` overrides it).
        address_from (str): optional network interface on the board (e.g. ``eth0``); when set, the board's
            IPv4 address is read from the serial shell and given to the NetworkService (DHCP boards).
        mux_settle (float): seconds to wait after switching the mux, so the card (re)appears to its side.
        ssh_wait (float): seconds to wait for the board's address on ``address_from`` after the serial login.
    """

    bindings: ClassVar[dict[str, object]] = {
        "power": {"PowerProtocol", None},
        "mux": {"USBSDMuxDriver", "USBSDWireDriver", None},
        "storage": {"USBStorageDriver", None},
        "console": "ConsoleProtocol",
        "shell": "ShellDriver",
        "ssh": "BoardSSHDriver",
        "network": "NetworkService",
    }
    ssh: BoardSSHDriver

    status = attr.ib(default=Status.unknown)
    image = attr.ib(default="wic", validator=attr.validators.instance_of(str))
    address_from = attr.ib(default="", validator=attr.validators.instance_of(str))
    mux_settle = attr.ib(default=2.0, converter=float)
    ssh_wait = attr.ib(default=60.0, converter=float)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.boot_seconds: float | None = None
        self.ssh_seconds: float | None = None
        self.flashed_image: str | None = None

    # --- the interface harness/plugin.py uses for every board -------------------------------------------

    @property
    def ssh_port(self) -> int:
        return self.network.port

    def loss_reason(self) -> None:
        """A real board has no emulator that could die; errors come from the connections instead."""
        return None

    # --- transitions -------------------------------------------------------------------------------------

    def stages(self) -> list[tuple[Status, Callable[[], None]]]:
        return [
            (Status.flashed, self._power_off_and_flash),
            (Status.shell, self._boot_to_shell),
            (Status.ssh, self._open_ssh),
        ]

    def _power_off_and_flash(self) -> None:
        self._power_off()
        self._flash()

    # --- steps -------------------------------------------------------------------------------------------

    def image_path(self) -> Path:
        """The image to write: ``ARMSTFT_IMAGE`` if set, else the env's ``images:`` entry (kas deploy dir)."""
        override = os.environ.get(IMAGE_ENV)
        if override:
            return Path(override).expanduser().resolve()
        config = self.target.env.config if self.target.env else None
        if config is None:
            raise StageError("flashing", f"no env file and no {IMAGE_ENV}: nothing says which image to write")
        try:
            return Path(config.get_image_path(self.image))
        except KeyError:
            raise StageError(
                "flashing", f"{config.filename}: images.{self.image}: expected an image path, got missing"
            ) from None

    def _flash(self) -> None:
        if os.environ.get(SKIP_FLASH_ENV) == "1":
            self.logger.info("%s=1: booting the image already on the card", SKIP_FLASH_ENV)
            return
        if self.mux is None or self.storage is None:
            self.logger.info("no SD mux/storage in this env: the board boots the image already on its card")
            return
        path = self.image_path()
        if not path.is_file():
            raise StageError(
                "flashing",
                f"{path}: image: expected a .wic/.wic.bz2 file, got missing "
                f"(build it with kas, see docs/boards.md, or set {IMAGE_ENV})",
            )
        try:
            self.target.activate(self.mux)
            self.mux.set_mode("host")
            time.sleep(self.mux_settle)
            self.target.activate(self.storage)
            self.storage.write_image(str(path), mode=Mode.BMAPTOOL)
            self.mux.set_mode("dut")
            time.sleep(self.mux_settle)
        except Exception as e:
            raise StageError("flashing", f"writing {path.name} to the SD card failed: {one_line(e)}") from e
        self.flashed_image = str(path)

    def _boot_to_shell(self) -> None:
        started = time.monotonic()
        try:
            self.target.activate(self.console)
            if self.power is not None:
                self.target.activate(self.power)
                self.power.on()
        except Exception as e:
            raise StageError("powering", f"could not power the board on: {one_line(e)}") from e
        try:
            self.target.activate(self.shell)
        except Exception as e:
            raise StageError(
                "booting",
                f"no shell prompt on the serial console within {self.shell.login_timeout} s "
                f"({one_line(e)}; full text in the console log)",
            ) from e
        self.boot_seconds = time.monotonic() - started
        if self.address_from:
            self.read_address()

    def read_address(self) -> None:
        """Read the board's IPv4 address on ``address_from`` from the serial shell (DHCP boards)."""
        deadline = time.monotonic() + self.ssh_wait
        while True:
            out, _, _ = self.shell.run(f"ip -4 -o addr show dev {self.address_from} 2>/dev/null")
            found = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", " ".join(out))
            if found:
                self.network.address = found.group(1)
                return
            if time.monotonic() > deadline:
                raise StageError(
                    "ssh", f"the board has no IPv4 address on {self.address_from} after {self.ssh_wait:.0f} s"
                )
            time.sleep(2)

    def _open_ssh(self) -> None:
        """Log in over SSH; the driver retries for its ``connection_timeout`` while sshd comes up."""
        started = time.monotonic()
        try:
            self.target.activate(self.ssh)
        except Exception as e:
            cause = stage_cause(e)
            raise StageError("ssh", cause.reason if cause else one_line(e)) from e
        self.ssh_seconds = time.monotonic() - started

    def _power_off(self) -> None:
        """Close our connections (never raises) and cut the power if this env has a switch."""
        for driver in (self.ssh, self.shell, self.console):
            try:
                self.target.deactivate(driver)
            except Exception as e:
                self.logger.warning("deactivating %s failed: %s", driver, e)
        if self.power is None:
            return
        try:
            self.target.activate(self.power)
            self.power.off()
        except Exception as e:
            raise StageError("powering", f"could not power the board off: {one_line(e)}") from e
