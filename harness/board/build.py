"""Build the emulated aarch64 board: ``python -m harness.board.build`` (or ``build_image()``).

Stages, each skipped when its inputs did not change:
  keys -> Debian packages (private apt) -> kernel + initramfs -> PyPI wheels + armstft wheel
  -> root tree (debs, links, config, wheels, bundle, .pyc, ELF check) -> ext4 image -> board.json.
The root tree is keyed twice: a *base* key (packages, wheels, kernel, keys, builder code) and an *app* key
(base + armstft sources + default bundle).  Editing armstft only reinstalls its wheel and re-packs the ext4.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path

from . import apt, elfcheck, ext4, initramfs, kernel, keys, log, pyc, qemu, rootfs, sysconfig, wheels
from .layout import Layout

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "armstft.board/1"
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
BUNDLE_REL = "models/default"
BUNDLE_ON_BOARD = "usr/share/armstft/default"
_HERE = Path(__file__).resolve().parent
_INITRD_FILES = ("initramfs.py", "kernel.py")
_PY_DIRS = ["usr/lib/python3.11", "usr/lib/python3/dist-packages", sysconfig.SITE_PACKAGES]


class BuildError(RuntimeError):
    pass


@dataclass
class BuildResult:
    """Paths of the output contract plus what happened in this run."""

    kernel: Path
    initrd: Path
    rootfs_image: Path
    ssh_key: Path
    ssh_pubkey: Path
    known_hosts_entry: Path
    board_json: Path
    rootfs_tree: Path
    kernel_version: str
    rebuilt: list[str] = field(default_factory=list)


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode() if not isinstance(p, bytes) else p)
        h.update(b"\0")
    return h.hexdigest()


def _files_digest(base: Path, rels: list[Path] | tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for rel in rels:
        h.update(str(rel).encode() + b"\0" + (base / rel).read_bytes() + b"\0")
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """One build at a time per cache (the HIL suite and a person may both start one)."""
    layout.board.mkdir(parents=True, exist_ok=True)
    with open(layout.lock, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another build holds the lock; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


class _State:
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
        tmp = self.dir / f"{name}.json.tmp"
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.dir / f"{name}.json")


def _debian(layout: Layout, refresh: bool, state: _State) -> tuple[list[apt.Deb], apt.Deb, list[Path], Path]:
    """Resolve (cached while the package lists are unchanged) and download the Debian side."""
    pkg = apt.PrivateApt(layout.apt)
    pkg.update(refresh=refresh)
    lists = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in (layout.apt / "lists").glob("*_*")
    )
    key = _digest(DEB_PACKAGES, KERNEL_META, lists, _files_digest(_HERE, ("apt.py",)))
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
    paths = pkg.download([*closure, kdeb])
    log.info(f"debian: {len(closure)} packages + {kdeb}")
    return closure, kdeb, paths[:-1], paths[-1]


def _kernel_and_initrd(
    layout: Layout, kdeb_path: Path, busybox_deb: Path, state: _State
) -> tuple[kernel.Kernel, bool]:
    key = _digest(kdeb_path.name, busybox_deb.name, _files_digest(_HERE, _INITRD_FILES))
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
        _atomic_write(layout.initrd, image)
        _atomic_write(layout.kernel, k.image.read_bytes())
        log.info(f"kernel {k.version}; initramfs {len(image) // 1024} KiB loads {len(order)} modules")
        state.put("initrd", {"key": key, "kernel_version": k.version, "modules": order})
    return k, True


def _builder_files() -> list[Path]:
    """Every module of this builder: any of them may change what the image holds."""
    return sorted(p.relative_to(_HERE) for p in _HERE.glob("*.py"))


def _tree_files(top: Path) -> list[Path]:
    return sorted(p.relative_to(top) for p in top.rglob("*") if p.is_file()) if top.is_dir() else []


def _snapshot_bundle(repo: Path, dest: Path) -> bool:
    """Copy ``models/default/`` aside (like the sources); False when the clone has none yet."""
    rootfs.remove(dest)
    src = repo / BUNDLE_REL
    if not src.is_dir():
        log.info(f"no {BUNDLE_REL}/ in {repo} yet: the image will have no /{BUNDLE_ON_BOARD}")
        return False
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return True


def _install_app(tree: Path, armstft_whl: Path, bundle: Path | None) -> None:
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


def _assemble_base(
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


def _elf_check(tree: Path) -> None:
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


def build_image(
    repo: Path = REPO, layout: Layout | None = None, refresh: bool = False, force: bool = False
) -> BuildResult:
    """Build (or bring up to date) the board image; returns the output-contract paths."""
    layout = layout or Layout.default()
    repo = repo.resolve()
    with _locked(layout):
        return _build(repo, layout, refresh, force)


def _build(repo: Path, layout: Layout, refresh: bool, force: bool) -> BuildResult:
    state = _State(layout)
    rebuilt: list[str] = []
    if force:
        for stamp in layout.state.glob("*.json"):
            stamp.unlink()
    with log.stage("ssh keys"):
        key_set = keys.ensure(layout.keys)
        keys.publish(key_set, layout.ssh_dir)
    with log.stage("debian arm64 packages"):
        closure, kdeb, deb_paths, kdeb_path = _debian(layout, refresh, state)
    busybox_deb = next(p for d, p in zip(closure, deb_paths, strict=True) if d.name == "busybox-static")
    k, initrd_new = _kernel_and_initrd(layout, kdeb_path, busybox_deb, state)
    if initrd_new:
        rebuilt.append("initrd")
    with log.stage("pypi aarch64 wheels"):
        reqs = wheels.requirements()
        third_party = wheels.fetch(layout.wheels, reqs)
        log.info(
            "wheels: " + ", ".join(p.name.split("-")[0] + "==" + p.name.split("-")[1] for p in third_party)
        )
    src = layout.work / "armstft-src"
    bundle = layout.work / "bundle"
    sources = wheels.snapshot_sources(repo, src)
    has_bundle = _snapshot_bundle(repo, bundle)

    base_key = _digest(
        [str(d) for d in closure],
        str(kdeb),
        [(p.name, p.stat().st_size) for p in third_party],
        key_set.host_public(),
        key_set.harness.with_suffix(".pub").read_text(),
        _files_digest(_HERE, _builder_files()),
    )
    app_key = _digest(
        base_key,
        wheels.toolchain(),
        _files_digest(src, sources),
        _files_digest(bundle, _tree_files(bundle)),
    )
    done = state.get("rootfs")
    tree = layout.rootfs
    if done.get("app_key") == app_key and tree.is_dir() and layout.image.exists():
        log.info(f"root tree + rootfs.ext4: up to date ({app_key[:12]})")
        armstft_name = done.get("armstft_wheel", "?")
    else:
        with log.stage("armstft wheel"):
            armstft_whl = wheels.build_armstft(src, layout.work / "armstft-wheel")
            armstft_name = armstft_whl.name
            log.info(f"armstft wheel: {armstft_name}")
        if done.get("base_key") == base_key and tree.is_dir():
            log.info("root tree base up to date; refreshing armstft + bundle only")
            work_tree = tree
        else:
            work_tree = layout.board / "rootfs.new"
            _assemble_base(work_tree, layout, deb_paths, k, key_set, third_party)
            rebuilt.append("rootfs-base")
        with log.stage("root tree: armstft wheel + default bundle"):
            _install_app(work_tree, armstft_whl, bundle if has_bundle else None)
            manifest = {
                "schema": "armstft.image/1",
                "build_key": app_key,
                "kernel": k.version,
                "packages": [str(d) for d in closure],
                "wheels": [*(p.name for p in third_party), armstft_name],
                "bundle": f"/{BUNDLE_ON_BOARD}" if has_bundle else None,
            }
            (work_tree / "etc/armstft-image.json").write_text(json.dumps(manifest, indent=1) + "\n")
        _elf_check(work_tree)
        if work_tree != tree:
            old = layout.board / "rootfs.old"
            rootfs.remove(old)
            if tree.exists():
                tree.rename(old)
            work_tree.rename(tree)
            rootfs.remove(old)
        with log.stage("rootfs.ext4 (mke2fs -d)"):
            layout.out.mkdir(parents=True, exist_ok=True)
            size = ext4.make_image(tree, layout.image, "armstft-root", app_key)
            log.info(
                f"rootfs.ext4: {size / 2**20:.0f} MiB (sparse), tree {ext4.tree_size(tree) / 2**20:.0f} MiB"
            )
        state.put(
            "rootfs",
            {
                "base_key": base_key,
                "app_key": app_key,
                "bundle": has_bundle,
                "armstft_wheel": armstft_name,
                "image_sha256": _sha256(layout.image),
            },
        )
        rebuilt.append("rootfs.ext4")

    result = BuildResult(
        layout.kernel,
        layout.initrd,
        layout.image,
        layout.ssh_key,
        layout.ssh_pubkey,
        layout.known_hosts_entry,
        layout.board_json,
        tree,
        k.version,
        rebuilt,
    )
    _write_board_json(result, layout, state, key_set, closure, [p.name for p in third_party] + [armstft_name])
    log.info(
        f"ready: {layout.out}" + (f" (rebuilt: {', '.join(rebuilt)})" if rebuilt else " (nothing rebuilt)")
    )
    return result


def _write_board_json(
    result: BuildResult,
    layout: Layout,
    state: _State,
    key_set: keys.Keys,
    closure: list[apt.Deb],
    wheel_names: list[str],
) -> None:
    rs = state.get("rootfs")
    host_key = key_set.host_public()
    doc = {
        "schema": SCHEMA,
        "arch": "aarch64",
        "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kernel_version": result.kernel_version,
        "paths": {
            "kernel": str(result.kernel),
            "initrd": str(result.initrd),
            "rootfs": str(result.rootfs_image),
            "rootfs_tree": str(result.rootfs_tree),
            "ssh_key": str(result.ssh_key),
            "ssh_pubkey": str(result.ssh_pubkey),
            "known_hosts_entry": str(result.known_hosts_entry),
        },
        "ssh": {
            "user": "root",
            "port_on_board": 22,
            "host_key": host_key,
            "known_hosts_line_template": "[127.0.0.1]:{port} " + host_key,
        },
        "console": {
            "device": "ttyAMA0",
            "autologin": True,
            "hostname": sysconfig.HOSTNAME,
            "prompt": f"root@{sysconfig.HOSTNAME}:~# ",
            "prompt_regex": rf"root@{sysconfig.HOSTNAME}:[^ ]*# ",
        },
        "qemu": {
            "binary": qemu.BINARY,
            "machine": qemu.MACHINE,
            "cpu": qemu.CPU,
            "smp": qemu.SMP,
            "memory_mb": qemu.MEMORY_MB,
            "append": qemu.APPEND,
            "args": qemu.args(result.kernel, result.initrd, result.rootfs_image, "{port}"),
        },
        "board_paths": {
            "bundle": f"/{BUNDLE_ON_BOARD}" if rs.get("bundle") else None,
            "site_packages": f"/{sysconfig.SITE_PACKAGES}",
            "armstft": "/usr/bin/armstft",
        },
        "hashes": {
            "vmlinuz": _sha256(result.kernel),
            "initrd.img": _sha256(result.initrd),
            "rootfs.ext4": rs.get("image_sha256"),
            "base_key": rs.get("base_key"),
            "build_key": rs.get("app_key"),
        },
        "packages": [str(d) for d in closure],
        "wheels": wheel_names,
        "rebuilt": result.rebuilt,
    }
    tmp = layout.board_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, layout.board_json)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.board.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="clone whose armstft and bundle go in (default: this one)"
    )
    parser.add_argument(
        "--refresh", action="store_true", help="re-fetch Debian package lists (needs network)"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild every stage even if inputs are unchanged"
    )
    parser.add_argument("--json", action="store_true", help="print the result paths as JSON on stdout")
    args = parser.parse_args(argv)
    try:
        result = build_image(args.repo, refresh=args.refresh, force=args.force)
    except (
        BuildError,
        apt.AptError,
        kernel.KernelError,
        rootfs.RootfsError,
        wheels.WheelError,
        pyc.PycError,
    ) as exc:
        print(f"armstft-board: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        cmd = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd[:3]))
        print(f"armstft-board: error: {cmd}: expected exit 0, got {exc.returncode}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}, indent=1)
        )
    else:
        print(result.board_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
