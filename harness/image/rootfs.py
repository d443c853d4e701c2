"""Assemble the root tree from .deb files without running any of their (arm64) maintainer scripts.

What the scripts would have done is done here instead: merged-/usr links before unpacking (Debian 12
packages still ship /bin, /lib, ...), busybox applet links (found in the binary itself, since running an
arm64 ``busybox --list`` would need emulation), and dropping docs/manpages/locales the board never reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

MERGED_USR = ("bin", "sbin", "lib")
_EXCLUDES = (
    "./usr/share/man",
    "./usr/share/info",
    "./usr/share/locale",
    "./usr/share/lintian",
    "./usr/share/doc/*/changelog*",
    "./usr/share/doc/*/NEWS*",
    "./usr/share/doc/*/examples",
)


class RootfsError(RuntimeError):
    pass


def make_skeleton(root: Path) -> None:
    """An empty tree with merged-/usr links, so unpacking ``./bin/x`` lands in ``usr/bin/x``."""
    root.mkdir(parents=True)
    os.chmod(root, 0o755)
    for d in MERGED_USR:
        (root / "usr" / d).mkdir(parents=True, exist_ok=True)
        (root / d).symlink_to(f"usr/{d}")


def extract(deb: Path, root: Path) -> None:
    """Unpack one package's data.tar into ``root``, keeping owners, modes and the merged-/usr links.

    ``dpkg-deb -x`` would replace the /bin -> usr/bin symlink by a directory; tar's
    ``--keep-directory-symlink`` keeps it, so the archive goes through ``dpkg-deb --fsys-tarfile``.
    """
    tar = [
        "tar",
        "-x",
        "-C",
        str(root),
        "--same-owner",
        "-p",
        "--keep-directory-symlink",
        "--no-overwrite-dir",
        *(f"--exclude={e}" for e in _EXCLUDES),
    ]
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as src:
        rc = subprocess.run(tar, stdin=src.stdout, check=False).returncode
        src.stdout.close()  # type: ignore[union-attr]
    if src.returncode != 0 or rc != 0:
        raise RootfsError(
            f"{deb.name}: data.tar: expected a clean unpack, got dpkg-deb={src.returncode} tar={rc}"
        )


def busybox_applets(binary: bytes) -> list[str]:
    """Applet names from busybox's packed, sorted, NUL-separated name table (it starts "[", "[[")."""
    start = binary.find(b"[\0[[\0")
    if start < 0:
        raise RootfsError("busybox: applet table: expected '[\\0[[\\0', got nothing")
    names: list[str] = []
    pos = start
    while True:
        end = binary.index(b"\0", pos)
        if end == pos:
            break
        names.append(binary[pos:end].decode("ascii"))
        pos = end + 1
    if names != sorted(names) or len(names) < 50:
        raise RootfsError(f"busybox: applet table: expected a sorted list, got {len(names)} odd names")
    return names


def link_busybox(root: Path, busybox: str = "usr/bin/busybox") -> list[str]:
    """Symlink every applet that no package provides into /usr/bin; /sbin/init is busybox init."""
    names = busybox_applets((root / busybox).read_bytes())
    made = []
    for name in ("init", "modprobe", "insmod", "switch_root"):
        target = root / "usr/sbin" / name
        if not (target.exists() or target.is_symlink()):
            target.symlink_to("../bin/busybox")
    for name in names:
        if any((root / d / name).exists() or (root / d / name).is_symlink() for d in ("usr/bin", "usr/sbin")):
            continue
        (root / "usr/bin" / name).symlink_to("busybox")
        made.append(name)
    return made


def remove(root: Path) -> None:
    if root.is_symlink() or root.is_file():
        root.unlink()
    elif root.exists():
        shutil.rmtree(root)
