"""The Debian arm64 kernel: unpack it, pick the few modules the board needs, order them for loading.

Debian builds virtio-blk/net/pci/mmio and ext4 as modules, so the initramfs has to load them before the root
disk is visible.  Load order comes from the host ``depmod -b`` output (modules.dep) plus the ``softdep``
lines (ext4 needs the crc32c crypto driver, which no hard dependency names), so no emulated code runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# What the emulated board needs from the module tree: disks and NICs on virtio (PCI on `-M virt` with
# `-device virtio-*-pci`, MMIO for `-drive if=virtio`), the ext4 root filesystem and a virtio RNG so sshd
# never waits for entropy when QEMU offers one.
BOARD_MODULES = ("virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng", "ext4")

# Files depmod wants next to the modules to know what is built in.
_DEPMOD_INPUTS = ("modules.builtin", "modules.builtin.modinfo", "modules.order")


class KernelError(RuntimeError):
    pass


@dataclass(frozen=True)
class Kernel:
    """An unpacked kernel package."""

    version: str
    image: Path
    config: Path
    modules: Path  # .../lib/modules/<version>


def unpack(deb: Path, dest: Path) -> Kernel:
    """Extract a linux-image .deb into ``dest`` (replacing it) and run host depmod on its modules."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    images = sorted((dest / "boot").glob("vmlinuz-*"))
    if len(images) != 1:
        raise KernelError(f"{deb.name}: boot/vmlinuz-*: expected exactly one, got {len(images)}")
    version = images[0].name.removeprefix("vmlinuz-")
    moddir = dest / "lib" / "modules" / version
    if not moddir.is_dir():
        raise KernelError(f"{deb.name}: lib/modules/{version}: expected a directory, got nothing")
    subprocess.run(["depmod", "-b", str(dest), version], check=True)
    return Kernel(version, images[0], dest / "boot" / f"config-{version}", moddir)


def _norm(name: str) -> str:
    return name.replace("-", "_")


def _modname(relpath: str) -> str:
    base = relpath.rsplit("/", 1)[-1]
    return _norm(re.sub(r"\.ko(\.\w+)?$", "", base))


def load_order(moddir: Path, wanted: tuple[str, ...] = BOARD_MODULES) -> list[str]:
    """Relative paths of ``wanted`` and everything they need, each after its dependencies."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
        by_name[_modname(mod)] = mod
    aliases: dict[str, str] = {}
    alias_file = moddir / "modules.alias"
    for line in alias_file.read_text().splitlines() if alias_file.exists() else []:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "alias":
            aliases.setdefault(_norm(parts[1]), _norm(parts[2]))
    pre: dict[str, list[str]] = {}
    soft_file = moddir / "modules.softdep"
    for line in soft_file.read_text().splitlines() if soft_file.exists() else []:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "softdep":
            names, section = [], None
            for tok in parts[2:]:
                if tok.endswith(":"):
                    section = tok[:-1]
                elif section == "pre":
                    names.append(tok)
            pre[_norm(parts[1])] = names

    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, required: bool) -> None:
        name = _norm(name)
        name = name if name in by_name else aliases.get(name, name)
        rel = by_name.get(name)
        if rel is None:
            if required:
                raise KernelError(f"modules.dep: {name}: expected a module, got nothing (built in?)")
            return  # a soft dependency that is built in or absent
        if rel in seen:
            return
        seen.add(rel)
        for soft in pre.get(name, []):
            visit(soft, required=False)
        for dep in deps[rel]:
            visit(_modname(dep), required=True)
        order.append(rel)

    for w in wanted:
        visit(w, required=True)
    return order


def install_modules(kernel: Kernel, rels: list[str], root: Path, moddir_rel: str = "lib/modules") -> Path:
    """Copy the chosen modules below ``root/<moddir_rel>/<version>`` and index them with host depmod."""
    dest = root / moddir_rel / kernel.version
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in rels:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kernel.modules / rel, dest / rel)
    for name in _DEPMOD_INPUTS:
        if (kernel.modules / name).exists():
            shutil.copy2(kernel.modules / name, dest / name)
    subprocess.run(["depmod", "-b", str(root), kernel.version], check=True)
    return dest
