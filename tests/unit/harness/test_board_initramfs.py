"""The initramfs writer and the module load order, checked with real host tools (cpio, depmod's output)."""

from __future__ import annotations

import gzip
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from harness.image import initramfs, kernel
from harness.image.layout import Layout

needs_cpio = pytest.mark.skipif(
    shutil.which("cpio") is None, reason="cpio not installed (scripts/deps/apt.txt)"
)


@needs_cpio
def test_newc_archive_lists_with_gnu_cpio(tmp_path: Path) -> None:
    entries = [
        initramfs.Entry("dev", stat.S_IFDIR | 0o755),
        initramfs.Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        initramfs.Entry("init", stat.S_IFREG | 0o755, b"#!/bin/sh\necho hi\n"),
        initramfs.Entry("bin", stat.S_IFDIR | 0o755),
        initramfs.Entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
        initramfs.Entry("odd", stat.S_IFREG | 0o644, b"123"),  # length not a multiple of 4
    ]
    archive = tmp_path / "a.cpio"
    archive.write_bytes(initramfs.write_newc(entries))
    listing = subprocess.run(
        ["cpio", "-itv", "--quiet", "-F", str(archive)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    by_name = {line.split()[-1] if "->" not in line else line.split()[-3]: line for line in listing}
    assert set(by_name) == {"dev", "dev/console", "init", "bin", "bin/sh", "odd"}
    assert by_name["dev/console"].startswith("crw-------")
    assert "5," in by_name["dev/console"] and by_name["bin/sh"].endswith("bin/sh -> busybox")
    assert by_name["init"].startswith("-rwxr-xr-x") and " root " in by_name["init"]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["cpio", "-id", "--quiet", "-F", str(archive)], cwd=out, check=True)
    assert (out / "init").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (out / "odd").read_bytes() == b"123"


def test_initramfs_is_reproducible(tmp_path: Path) -> None:
    bb = tmp_path / "busybox"
    bb.write_bytes(b"\x7fELF fake busybox")  # content is opaque to the writer
    mods = tmp_path / "mods"
    (mods / "kernel").mkdir(parents=True)
    (mods / "kernel" / "a.ko").write_bytes(b"module")
    one = initramfs.build(bb, mods, "6.1.0-test", ["kernel/a.ko"])
    two = initramfs.build(bb, mods, "6.1.0-test", ["kernel/a.ko"])
    assert one == two
    raw = gzip.decompress(one)
    assert b"etc/modules.load" in raw and b"kernel/a.ko\n" in raw and b"TRAILER!!!" in raw


def _fake_moddir(tmp_path: Path) -> Path:
    d = tmp_path / "lib/modules/6.1.0-test"
    d.mkdir(parents=True)
    (d / "modules.dep").write_text(
        "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\n"
        "kernel/fs/jbd2/jbd2.ko:\n"
        "kernel/lib/crc16.ko:\n"
        "kernel/crypto/crc32c_generic.ko:\n"
        "kernel/drivers/char/hw_random/virtio-rng.ko:\n"
    )
    (d / "modules.alias").write_text("alias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\n")
    (d / "modules.softdep").write_text("softdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n")
    return d


def test_load_order_puts_soft_and_hard_dependencies_first(tmp_path: Path) -> None:
    order = kernel.load_order(_fake_moddir(tmp_path), ("virtio_rng", "ext4"))
    assert order[0] == "kernel/drivers/char/hw_random/virtio-rng.ko"  # '-' vs '_' in names
    assert order.index("kernel/crypto/crc32c_generic.ko") < order.index("kernel/fs/ext4/ext4.ko")
    assert order.index("kernel/fs/jbd2/jbd2.ko") < order.index("kernel/fs/ext4/ext4.ko")
    assert order[-1] == "kernel/fs/ext4/ext4.ko"
    assert len(order) == len(set(order)) == 5


def test_load_order_names_a_missing_module(tmp_path: Path) -> None:
    with pytest.raises(kernel.KernelError, match="virtio_blk: expected a module"):
        kernel.load_order(_fake_moddir(tmp_path), ("virtio_blk",))


def test_real_kernel_has_what_the_board_needs() -> None:
    """Against the cached Debian kernel (after one build): every board module resolves, crc32c included."""
    moddirs = sorted((Layout.default().work / "kernel/lib/modules").glob("*/modules.dep"))
    if not moddirs:
        pytest.skip("no unpacked kernel in the board cache yet (run python -m harness.image.build)")
    order = kernel.load_order(moddirs[-1].parent)
    names = [p.rsplit("/", 1)[-1] for p in order]
    for needed in ("virtio_blk.ko", "virtio_net.ko", "virtio_pci.ko", "ext4.ko", "crc32c_generic.ko"):
        assert needed in names
