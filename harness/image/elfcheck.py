"""Check on the host that every shared library an arm64 binary in the image needs is in the image.

A package list or wheel list that silently misses a library only shows up on the board as an ImportError
minutes into a boot; reading the ELF dynamic sections here finds it in seconds, without running arm64 code.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

EM_AARCH64 = 183
_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NEEDED, _DT_STRTAB, _DT_RPATH, _DT_RUNPATH = 1, 5, 15, 29
DEFAULT_DIRS = ("/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib", "/usr/lib")


@dataclass
class Dynamic:
    needed: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)  # RPATH/RUNPATH entries, $ORIGIN unexpanded


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of ``path``, or None when it is not an ELF file."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return struct.unpack_from("<H" if head[5] == 1 else ">H", head, 0x12)[0]


def read_dynamic(path: Path, machine: int = EM_AARCH64) -> Dynamic | None:
    """NEEDED and RPATH/RUNPATH of a 64-bit little-endian ELF for ``machine``; None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            if struct.unpack_from("<H", head, 0x12)[0] != machine:
                return None
            (phoff,) = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            phdrs = [struct.unpack_from("<IIQQQQQQ", f.read(phentsize)) for _ in range(phnum)]
            loads = [(p[3], p[2], p[5]) for p in phdrs if p[0] == _PT_LOAD]  # vaddr, offset, filesz
            dyn = next((p for p in phdrs if p[0] == _PT_DYNAMIC), None)
            if dyn is None:
                return Dynamic()  # static binary
            f.seek(dyn[2])
            raw = f.read(dyn[5])
            entries = [struct.unpack_from("<qQ", raw, i) for i in range(0, len(raw) - 15, 16)]
            strtab_vaddr = next((v for t, v in entries if t == _DT_STRTAB), None)
            if strtab_vaddr is None:
                return Dynamic()
            base = next(
                (off + strtab_vaddr - va for va, off, sz in loads if va <= strtab_vaddr < va + sz), None
            )
            if base is None:
                return None

            def string(offset: int) -> str:
                f.seek(base + offset)
                chunk = f.read(4096)
                return chunk[: chunk.index(b"\0")].decode("utf-8", "replace")

            dynamic = Dynamic()
            for tag, val in entries:
                if tag == _DT_NEEDED:
                    dynamic.needed.append(string(val))
                elif tag in (_DT_RPATH, _DT_RUNPATH):
                    dynamic.search += [p for p in string(val).split(":") if p]
            return dynamic
    except (OSError, struct.error, ValueError):
        return None


def _lib_dirs(root: Path) -> list[str]:
    dirs = list(DEFAULT_DIRS)
    conf = root / "etc/ld.so.conf.d"
    for f in sorted(conf.glob("*.conf")) if conf.is_dir() else []:
        dirs += [ln.strip() for ln in f.read_text().splitlines() if ln.strip().startswith("/")]
    return dirs


def _exists(root: Path, board_dir: str, soname: str) -> bool:
    # resolve symlinks inside the image, not on the host
    p = root / board_dir.lstrip("/") / soname
    for _ in range(16):
        if not p.is_symlink():
            return p.is_file()
        target = os.readlink(p)
        p = (root / target.lstrip("/")) if target.startswith("/") else p.parent / target
    return False


@dataclass
class Report:
    checked: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)  # (board path, soname)
    indirect: list[tuple[str, str]] = field(default_factory=list)  # found in the image, not on its path
    foreign: list[str] = field(default_factory=list)  # ELF files for another machine (e.g. a host .so)


def check(
    root: Path, scan: tuple[str, ...] = ("usr",), skip: tuple[str, ...] = ("usr/lib/modules",)
) -> Report:
    """Every NEEDED of every arm64 ELF under ``scan`` must resolve inside ``root``.

    A library not on the object's search path but present elsewhere in the image counts as ``indirect``
    (such objects are opened after the library is already loaded, e.g. torch's extensions).
    """
    report = Report()
    lib_dirs = _lib_dirs(root)
    everywhere: set[str] = set()
    objects: list[tuple[Path, Dynamic]] = []
    for top in scan:
        for dirpath, _dirs, files in os.walk(root / top):
            rel_dir = os.path.relpath(dirpath, root)
            if any(rel_dir == s or rel_dir.startswith(s + "/") for s in skip):
                continue
            for name in files:
                path = Path(dirpath) / name
                everywhere.add(name)
                if path.is_symlink():
                    continue
                machine = elf_machine(path)
                if machine is None:
                    continue
                if machine != EM_AARCH64:
                    report.foreign.append("/" + str(path.relative_to(root)))
                    continue
                dyn = read_dynamic(path)
                if dyn is not None:
                    objects.append((path, dyn))
    for path, dyn in objects:
        report.checked += 1
        origin = "/" + str(path.parent.relative_to(root))
        search = [s.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for s in dyn.search] + lib_dirs
        for soname in dyn.needed:
            if any(_exists(root, os.path.normpath(d), soname) for d in search):
                continue
            board_path = "/" + str(path.relative_to(root))
            (report.indirect if soname in everywhere else report.missing).append((board_path, soname))
    return report
