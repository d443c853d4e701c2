"""A tiny initramfs: static busybox, the virtio/ext4 modules, and an /init that switch_roots to /dev/vda.

The cpio archive is written here rather than by ``cpio`` so that it needs no root (the /dev/console node is
just a header) and is byte-for-byte reproducible (owner 0, mtime 0, sorted entries).
"""

from __future__ import annotations

import gzip
import io
import stat
from dataclasses import dataclass
from pathlib import Path

INIT = r"""#!/bin/busybox sh
# armstft board initramfs: load the virtio + ext4 modules, mount the root disk, hand over to its init.
/bin/busybox mkdir -p /proc /sys /dev /newroot /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s  # reads /proc/self/exe, hence after mounting /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

root=/dev/vda
mode=rw
init=/sbin/init
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        root=/dev/*) root=${arg#root=} ;;
        ro) mode=ro ;;
        rw) mode=rw ;;
        init=*) init=${arg#init=} ;;
    esac
done

rescue() {
    echo "initramfs: $*; dropping to a rescue shell" >/dev/console
    exec sh </dev/console >/dev/console 2>&1
}

while read -r ko; do
    insmod "/lib/modules/$(uname -r)/$ko" 2>/dev/null || echo "initramfs: cannot load $ko" >/dev/console
done </etc/modules.load

n=0
while [ ! -b "$root" ]; do
    n=$((n + 1))
    [ "$n" -gt 100 ] && rescue "root device $root did not appear within 10 s"
    sleep 0.1
done

mount -t ext4 -o "$mode" "$root" /newroot || rescue "cannot mount $root"
[ -x "/newroot$init" ] || [ -L "/newroot$init" ] || rescue "no $init on $root"
mount --move /dev /newroot/dev
umount /sys
umount /proc
exec switch_root /newroot "$init"
"""


@dataclass(frozen=True)
class Entry:
    """One cpio member. ``data`` is file content or a symlink target; ``rdev`` is for device nodes."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _header(ino: int, e: Entry, name: bytes) -> bytes:
    fields = (
        ino,
        e.mode,
        0,
        0,
        2 if stat.S_ISDIR(e.mode) else 1,
        0,
        len(e.data),
        0,
        0,
        *e.rdev,
        len(name) + 1,
        0,
    )
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 4)


def write_newc(entries: list[Entry]) -> bytes:
    """Serialise ``entries`` (parents before children) as a SVR4 "newc" cpio archive."""
    buf = io.BytesIO()
    for ino, e in enumerate([*entries, Entry("TRAILER!!!", 0)], start=1):
        name = e.path.lstrip("/").encode() or b"."
        head = _header(ino if e.path != "TRAILER!!!" else 0, e, name) + name + b"\0"
        buf.write(head + _pad(len(head)))
        buf.write(e.data + _pad(len(e.data)))
    return buf.getvalue()


def tree_entries(top: Path, prefix: str = "") -> list[Entry]:
    """Entries for every file/dir/symlink under ``top`` (sorted), stored below ``prefix``."""
    out = []
    for p in sorted(top.rglob("*")):
        rel = f"{prefix}/{p.relative_to(top).as_posix()}".lstrip("/")
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            out.append(Entry(rel, stat.S_IFLNK | 0o777, str(p.readlink()).encode()))
        elif stat.S_ISDIR(st.st_mode):
            out.append(Entry(rel, stat.S_IFDIR | 0o755))
        else:
            out.append(Entry(rel, stat.S_IFREG | stat.S_IMODE(st.st_mode), p.read_bytes()))
    return out


def build(busybox: Path, moddir: Path, kernel_version: str, load_order: list[str]) -> bytes:
    """The gzip-compressed initramfs image.

    ``moddir`` is a directory holding only the chosen modules plus depmod's indexes.
    """
    dirs = ["bin", "dev", "etc", "lib", "lib/modules", "newroot", "proc", "sys", "tmp"]
    entries = [Entry(d, stat.S_IFDIR | 0o755) for d in dirs]
    entries += [
        Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        Entry("bin/busybox", stat.S_IFREG | 0o755, busybox.read_bytes()),
        Entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
        Entry("init", stat.S_IFREG | 0o755, INIT.encode()),
        Entry("etc/modules.load", stat.S_IFREG | 0o644, "".join(f"{r}\n" for r in load_order).encode()),
        Entry(f"lib/modules/{kernel_version}", stat.S_IFDIR | 0o755),
    ]
    entries += tree_entries(moddir, f"lib/modules/{kernel_version}")
    return gzip.compress(write_newc(entries), compresslevel=6, mtime=0)
