"""The SD-mux strategy's flash step, driven for real: bmaptool writes a real .wic.bz2 + .bmap onto a loop
device that stands in for the SD card, through labgrid's own USBStorageDriver code; the card's bytes are
checked.

Stand-ins (no SD mux or card reader can exist on a CI host): ``LoopCard`` is the card, a file that appears
as a block device (a loop device) only while the "mux" gives it to the host; ``LoopCardMux`` is the mux, which
attaches it in mode ``host`` and detaches it in mode ``dut``.  So the flash can only succeed if the strategy
switches the card to the host before writing and back to the board after, exactly as a real mux needs.
``LoopCardStorage`` is labgrid's USBStorageDriver unchanged but for what it binds to.
"""

from __future__ import annotations

import bz2
import itertools
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import attr
import pytest
from labgrid import Target
from labgrid.driver import SerialDriver, ShellDriver, USBSDMuxDriver, USBStorageDriver
from labgrid.factory import target_factory
from labgrid.resource import NetworkService, RawSerialPort
from labgrid.resource.common import Resource

from harness.drivers.sshdriver import BoardSSHDriver
from harness.strategies.sdmux import SDMuxBoardStrategy

MIB = 1 << 20
FILL = b"\xaa"


@target_factory.reg_resource
@attr.s(eq=False)
class LoopCard(Resource):
    """Test stand-in for an SD card: ``backing`` is the card; ``path`` its block device while host-side."""

    backing = attr.ib(default="", validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.path: str | None = None

    def wrap_command(self, args: list[str]) -> list[str]:
        return args


@target_factory.reg_driver
@attr.s(eq=False)
class LoopCardMux(USBSDMuxDriver):
    """Test stand-in for the SD mux: ``host`` attaches the card as a loop device, ``dut`` takes it away."""

    bindings = {"mux": "LoopCard"}  # noqa: RUF012 (labgrid's own style)

    def set_mode(self, mode: str) -> None:
        card = self.mux
        if mode == "host" and card.path is None:
            card.path = subprocess.run(
                ["losetup", "--show", "-f", card.backing], capture_output=True, text=True, check=True
            ).stdout.strip()
        elif mode == "dut" and card.path is not None:
            subprocess.run(["losetup", "-d", card.path], check=True)
            card.path = None


@target_factory.reg_driver
@attr.s(eq=False)
class LoopCardStorage(USBStorageDriver):
    """labgrid's USBStorageDriver (bmap lookup, bmaptool copy, medium wait), bound to the stand-in card."""

    bindings = {"storage": "LoopCard"}  # noqa: RUF012 (labgrid's own style)


def loop_devices_work(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.write_bytes(b"\0" * MIB)
    done = subprocess.run(["losetup", "--show", "-f", str(probe)], capture_output=True, text=True)
    if done.returncode != 0:
        return False
    subprocess.run(["losetup", "-d", done.stdout.strip()], check=True)
    return True


def make_wic(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A real partitioned image: MBR with one Linux partition at 1 MiB holding an ext4 filesystem with a
    file; its .bmap (bmaptool create) and the .wic.bz2 that kas deploys.  Returns (wic.bz2, bmap, raw)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello.txt").write_text("armstft on the card\n" * 1000)
    wic = tmp_path / "armstft-image.wic"
    with open(wic, "wb") as f:
        f.truncate(24 * MIB)
    mbr = bytearray(512)
    start, sectors = 2048, (24 * MIB - MIB) // 512
    mbr[446:462] = (
        bytes([0, 0xFE, 0xFF, 0xFF, 0x83, 0xFE, 0xFF, 0xFF])
        + start.to_bytes(4, "little")
        + sectors.to_bytes(4, "little")
    )
    mbr[510:512] = b"\x55\xaa"
    with open(wic, "r+b") as f:
        f.write(mbr)
    subprocess.run(
        ["mke2fs", "-q", "-F", "-t", "ext4", "-E", f"offset={MIB}", "-d", str(tree), str(wic), "20M"],
        check=True,
    )
    bmap = tmp_path / "armstft-image.wic.bmap"
    subprocess.run(["bmaptool", "-q", "create", "-o", str(bmap), str(wic)], check=True)
    raw = wic.read_bytes()
    packed = tmp_path / "armstft-image.wic.bz2"
    packed.write_bytes(bz2.compress(raw))
    wic.unlink()  # only the deployed .wic.bz2 + .bmap remain, as in a kas deploy folder
    return packed, bmap, raw


def mapped_ranges(bmap: Path) -> list[tuple[int, int]]:
    root = ET.parse(bmap).getroot()
    block = int(root.findtext("BlockSize"))
    ranges = []
    for r in root.iter("Range"):
        first, _, last = r.text.strip().partition("-")
        ranges.append((int(first) * block, (int(last or first) + 1) * block))
    return ranges


def sdmux_target(card_file: Path) -> tuple[Target, SDMuxBoardStrategy]:
    """A target wired like harness/envs/rpi4.yaml, with the card and mux stand-ins (power: none)."""
    target = Target("sdmux-flash-test")
    LoopCard(target, "card", backing=str(card_file))
    RawSerialPort(target, "serial", port="/dev/null")  # bound, never opened: the test stops at 'flashed'
    SerialDriver(target, "serial")
    ShellDriver(target, "shell", prompt="# ", login_prompt="login: ", username="root")
    NetworkService(target, "network", address="127.0.0.1", username="root")
    BoardSSHDriver(target, "ssh")
    LoopCardMux(target, "mux")
    LoopCardStorage(target, "storage")
    return target, SDMuxBoardStrategy(target, "strategy", mux_settle=0.0)


def test_flash_writes_the_bmap_ranges_onto_the_card(tmp_path, monkeypatch):
    if os.geteuid() != 0 or not shutil.which("bmaptool") or not loop_devices_work(tmp_path):
        pytest.skip("needs root, loop devices and bmaptool (scripts/deps/apt.txt: bmap-tools)")
    packed, bmap, raw = make_wic(tmp_path)
    card = tmp_path / "card.img"
    card.write_bytes(FILL * (32 * MIB))  # a used card: whatever the bmap skips must stay as it was
    monkeypatch.setenv("ARMSTFT_IMAGE", str(packed))
    target, strategy = sdmux_target(card)
    try:
        strategy.transition("flashed")
        assert strategy.flashed_image == str(packed)
        assert target.get_resource(LoopCard).path is None, "the card was not switched back to the board"
    finally:
        target.cleanup()
    written = card.read_bytes()
    ranges = mapped_ranges(bmap)
    assert ranges and written[:512] == raw[:512]  # the partition table
    for first, end in ranges:
        assert written[first:end] == raw[first:end], f"bytes {first}-{end} differ from the image"
    gaps = [(a_end, b_first) for (_, a_end), (b_first, _) in itertools.pairwise(ranges) if b_first > a_end]
    assert gaps, "the image has no unmapped range: the test would not show that the bmap was used"
    first, end = gaps[0]
    assert written[first:end] == FILL * (end - first), "bmaptool wrote outside the mapped ranges"
    assert written[len(raw) :] == FILL * (len(written) - len(raw))


def test_flash_without_the_image_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ARMSTFT_IMAGE", str(tmp_path / "missing.wic.bz2"))
    target, strategy = sdmux_target(tmp_path / "card.img")
    try:
        with pytest.raises(Exception) as err:
            strategy.transition("flashed")
    finally:
        target.cleanup()
    cause = err.value.__cause__ or err.value
    assert "missing.wic.bz2: image: expected a .wic/.wic.bz2 file, got missing" in str(cause)
