"""The build steps of the emulated board, each keyed on its inputs (see ``harness.image.build``)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path

from harness import paths
from harness.files import atomic_write

from . import apt, elfcheck, initramfs, kernel, keys, log, pyc, rootfs, sysconfig, wheels
from .layout import Layout

DEB_PACKAGES = (
    "python3",
    "python3.11",
    "busybox-static",
    "openssh-server",
    "libstdc++6",
    "libgomp1",
    "libc6",
)
KERNEL_META = "linux-image-arm64"
BUNDLE_REL = paths.REPO_BUNDLE
BUNDLE_ON_BOARD = paths.BOARD_BUNDLE.lstrip("/")  # relative to the root tree
HERE = Path(__file__).resolve().parent
_INITRD_FILES = ("initramfs.py", "kernel.py")
_PY_DIRS = ["usr/lib/python3.11", "usr/lib/python3/dist-packages", sysconfig.SITE_PACKAGES]


class BuildError(RuntimeError):
    pass


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode() if not isinstance(p, bytes) else p)
        h.update(b"\0")
    return h.hexdigest()


def files_digest(base: Path, rels: list[Path] | tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for rel in rels:
        h.update(str(rel).encode() + b"\0" + (base / rel).read_bytes() + b"\0")
    return h.hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """One build at a time per cache (the HIL suite and a person may both start one)."""
    layout.board.mkdir(parents=True, exist_ok=True)
    with open(layout.lock, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another build holds the lock; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


class State:
    """Small JSON stamps under ``state/`` telling which inputs produced the current outputs."""

    def __init__(self, layout: Layout) -> None:
        self.dir = layout.state
        self.dir.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> dict:
        p = self.dir / f"{name}.json"
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return {}

    def put(self, name: str, data: dict) -> None:
        atomic_write(self.dir / f"{name}.json", json.dumps(data, indent=1, sort_keys=True))


def debian(layout: Layout, refresh: bool, state: State) -> tuple[list[apt.Deb], apt.Deb, list[Path], Path]:
    """Resolve (cached while the package lists are unchanged) and download the Debian side."""
    pkg = apt.PrivateApt(layout.apt)
    pkg.update(refresh=refresh)
    lists = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in (layout.apt / "lists").glob("*_*")
    )
    key = digest(
        DEB_PACKAGES, KERNEL_META, lists, files_digest(HERE, ("apt.py",)), apt.APT_SCRIPT.read_bytes()
    )
    cached = state.get("apt")
    if cached.get("key") == key:
        closure = [apt.Deb(*d) for d in cached["closure"]]
        kdeb = apt.Deb(*cached["kernel"])
    else:
        closure = pkg.resolve(list(DEB_PACKAGES))
        kernel_debs = [
            d
            for d in pkg.resolve([KERNEL_META])
            if d.name.startswith("linux-image-") and d.name.endswith("-arm64") and d.name != KERNEL_META
        ]
        if len(kernel_debs) != 1:
            raise BuildError(
                f"{KERNEL_META}: dependencies: expected one linux-image-*-arm64, got {kernel_debs}"
            )
        kdeb = kernel_debs[0]
        state.put("apt", {"key": key, "closure": [astuple(d) for d in closure], "kernel": astuple(kdeb)})
    downloaded = pkg.download([*closure, kdeb])
    log.info(f"debian: {len(closure)} packages + {kdeb}")
    return closure, kdeb, downloaded[:-1], downloaded[-1]


def kernel_and_initrd(
    layout: Layout, kdeb_path: Path, busybox_deb: Path, state: State
) -> tuple[kernel.Kernel, bool]:
    key = digest(kdeb_path.name, busybox_deb.name, files_digest(HERE, _INITRD_FILES))
    kdir = layout.work / "kernel"
    done = state.get("initrd")
    fresh = done.get("key") == key and layout.kernel.exists() and layout.initrd.exists() and kdir.is_dir()
    if fresh:
        images = sorted((kdir / "boot").glob("vmlinuz-*"))
        if len(images) == 1:
            ver = images[0].name.removeprefix("vmlinuz-")
            k = kernel.Kernel(ver, images[0], kdir / "boot" / f"config-{ver}", kdir / "lib/modules" / ver)
            log.info(f"kernel {ver} + initramfs: up to date")
            return k, False
    with log.stage("kernel + initramfs"):
        k = kernel.unpack(kdeb_path, kdir)
        order = kernel.load_order(k.modules)
        bb = layout.work / "busybox-static"
        if bb.exists():
            shutil.rmtree(bb)
        bb.mkdir(parents=True)
        rootfs.extract(busybox_deb, bb)
        staging = layout.work / "initramfs-modules"
        if staging.exists():
            shutil.rmtree(staging)
        moddir = kernel.install_modules(k, order, staging)
        image = initramfs.build(bb / "bin/busybox", moddir, k.version, order)
        layout.out.mkdir(parents=True, exist_ok=True)
        # atomic replacement: a QEMU starting meanwhile sees the old or the new file, never half of one
        atomic_write(layout.initrd, image)
        atomic_write(layout.kernel, k.image.read_bytes())
        log.info(f"kernel {k.version}; initramfs {len(image) // 1024} KiB loads {len(order)} modules")
        state.put("initrd", {"key": key, "kernel_version": k.version, "modules": order})
    return k, True


def builder_files() -> list[Path]:
    """Every module of this builder: any of them may change what the image holds."""
    return sorted(p.relative_to(HERE) for p in HERE.glob("*.py"))


def tree_files(top: Path) -> list[Path]:
    return sorted(p.relative_to(top) for p in top.rglob("*") if p.is_file()) if top.is_dir() else []


def snapshot_bundle(repo: Path, dest: Path) -> bool:
    """Copy ``models/default/`` aside (like the sources); False when the clone has none yet."""
    rootfs.remove(dest)
    src = repo / BUNDLE_REL
    if not src.is_dir():
        log.info(f"no {BUNDLE_REL}/ in {repo} yet: the image will have no /{BUNDLE_ON_BOARD}")
        return False
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return True


def install_app(tree: Path, armstft_whl: Path, bundle: Path | None) -> None:
    """(Re)install the armstft wheel and the default bundle into ``tree``."""
    site = tree / sysconfig.SITE_PACKAGES
    for old in [site / "armstft", *site.glob("armstft-*.dist-info")]:
        rootfs.remove(old)
    wheels.install([armstft_whl], site)
    pyc.compile_tree(tree, [f"{sysconfig.SITE_PACKAGES}/armstft"])
    dest = tree / BUNDLE_ON_BOARD
    rootfs.remove(dest)
    if bundle is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(bundle, dest)


def assemble_base(
    tree: Path,
    layout: Layout,
    debs: list[Path],
    k: kernel.Kernel,
    key_set: keys.Keys,
    third_party: list[Path],
) -> None:
    with log.stage(f"root tree: unpack {len(debs)} packages"):
        rootfs.remove(tree)
        rootfs.make_skeleton(tree)
        for deb in debs:
            rootfs.extract(deb, tree)
        made = rootfs.link_busybox(tree)
        log.info(f"busybox: {len(made)} applet links")
    with log.stage("root tree: modules, config, keys"):
        order = kernel.load_order(k.modules)
        kernel.install_modules(k, order, tree, "usr/lib/modules")
        sysconfig.configure(tree, key_set.host, key_set.harness.with_suffix(".pub"))
    with log.stage(f"root tree: install {len(third_party)} wheels"):
        wheels.install(third_party, tree / sysconfig.SITE_PACKAGES)
    with log.stage("root tree: precompile .pyc (host CPython 3.11)"):
        pyc.compile_tree(tree, _PY_DIRS)


def elf_check(tree: Path) -> None:
    """Fail the build if an arm64 object needs a library the image lacks, or if a host binary slipped in."""
    with log.stage("root tree: ELF dependency check"):
        rep = elfcheck.check(tree)
        log.info(
            f"elf: {rep.checked} arm64 objects, {len(rep.indirect)} indirect, {len(rep.missing)} missing"
        )
        if rep.foreign:
            raise BuildError(f"root tree: ELF machine: expected AArch64 only, got others: {rep.foreign[:5]}")
        if rep.missing:
            shown = ", ".join(f"{p} needs {s}" for p, s in rep.missing[:8])
            raise BuildError(f"root tree: shared libraries: expected all present, missing: {shown}")
