"""Build the emulated aarch64 board: ``python -m harness.image.build`` (or ``build_image()``).

Stages, each skipped when its inputs did not change:
  keys -> Debian packages (private apt) -> kernel + initramfs -> PyPI wheels + armstft wheel
  -> root tree (debs, links, config, wheels, bundle, .pyc, ELF check) -> ext4 image -> board.json.
The root tree is keyed twice: a *base* key (packages, wheels, kernel, keys, builder code) and an *app* key
(base + armstft sources + default bundle).  Editing armstft only reinstalls its wheel and re-packs the ext4.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.files import atomic_write

from . import apt, ext4, kernel, keys, log, pyc, rootfs, sysconfig, wheels
from .layout import Layout
from .stages import (
    BUNDLE_ON_BOARD,
    HERE,
    BuildError,
    State,
    assemble_base,
    builder_files,
    debian,
    digest,
    elf_check,
    files_digest,
    install_app,
    kernel_and_initrd,
    locked,
    sha256,
    snapshot_bundle,
    tree_files,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "armstft.board/1"


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


def build_image(
    repo: Path = REPO, layout: Layout | None = None, refresh: bool = False, force: bool = False
) -> BuildResult:
    """Build (or bring up to date) the board image; returns the output-contract paths."""
    layout = layout or Layout.default()
    repo = repo.resolve()
    with locked(layout):
        return _build(repo, layout, refresh, force)


@dataclass
class Inputs:
    """Everything the root tree is made of, fetched or unpacked, with the keys that say when it changed."""

    key_set: keys.Keys
    closure: list[apt.Deb]
    deb_paths: list[Path]
    kernel: kernel.Kernel
    third_party: list[Path]
    src: Path
    bundle: Path | None
    base_key: str
    app_key: str


def _inputs(repo: Path, layout: Layout, refresh: bool, state: State, rebuilt: list[str]) -> Inputs:
    with log.stage("ssh keys"):
        key_set = keys.ensure(layout.keys)
        keys.publish(key_set, layout.ssh_dir)
    with log.stage("debian arm64 packages"):
        closure, kdeb, deb_paths, kdeb_path = debian(layout, refresh, state)
    busybox_deb = next(p for d, p in zip(closure, deb_paths, strict=True) if d.name == "busybox-static")
    k, initrd_new = kernel_and_initrd(layout, kdeb_path, busybox_deb, state)
    if initrd_new:
        rebuilt.append("initrd")
    with log.stage("pypi aarch64 wheels"):
        third_party = wheels.fetch(layout.wheels, wheels.requirements())
        log.info("wheels: " + ", ".join("==".join(p.name.split("-")[:2]) for p in third_party))
    src, bundle = layout.work / "armstft-src", layout.work / "bundle"
    sources = wheels.snapshot_sources(repo, src)
    has_bundle = snapshot_bundle(repo, bundle)
    base_key = digest(
        [str(d) for d in closure],
        str(kdeb),
        [(p.name, p.stat().st_size) for p in third_party],
        key_set.host_public(),
        key_set.harness.with_suffix(".pub").read_text(),
        files_digest(HERE, builder_files()),
    )
    app_key = digest(
        base_key, wheels.toolchain(), files_digest(src, sources), files_digest(bundle, tree_files(bundle))
    )
    return Inputs(
        key_set, closure, deb_paths, k, third_party, src, bundle if has_bundle else None, base_key, app_key
    )


def _root_tree(layout: Layout, inputs: Inputs, state: State, rebuilt: list[str]) -> str:
    """Bring the root tree and rootfs.ext4 up to date; returns the armstft wheel's name."""
    done, tree = state.get("rootfs"), layout.rootfs
    if done.get("app_key") == inputs.app_key and tree.is_dir() and layout.image.exists():
        log.info(f"root tree + rootfs.ext4: up to date ({inputs.app_key[:12]})")
        return done.get("armstft_wheel", "?")
    with log.stage("armstft wheel"):
        armstft_whl = wheels.build_armstft(inputs.src, layout.work / "armstft-wheel")
        log.info(f"armstft wheel: {armstft_whl.name}")
    if done.get("base_key") == inputs.base_key and tree.is_dir():
        log.info("root tree base up to date; refreshing armstft + bundle only")
        work_tree = tree
    else:
        work_tree = layout.board / "rootfs.new"
        assemble_base(work_tree, layout, inputs.deb_paths, inputs.kernel, inputs.key_set, inputs.third_party)
        rebuilt.append("rootfs-base")
    with log.stage("root tree: armstft wheel + default bundle"):
        install_app(work_tree, armstft_whl, inputs.bundle)
        manifest = {
            "schema": "armstft.image/1",
            "build_key": inputs.app_key,
            "kernel": inputs.kernel.version,
            "packages": [str(d) for d in inputs.closure],
            "wheels": [*(p.name for p in inputs.third_party), armstft_whl.name],
            "bundle": f"/{BUNDLE_ON_BOARD}" if inputs.bundle else None,
        }
        (work_tree / "etc/armstft-image.json").write_text(json.dumps(manifest, indent=1) + "\n")
    elf_check(work_tree)
    if work_tree != tree:
        old = layout.board / "rootfs.old"
        rootfs.remove(old)
        if tree.exists():
            tree.rename(old)
        work_tree.rename(tree)
        rootfs.remove(old)
    with log.stage("rootfs.ext4 (mke2fs -d)"):
        size = ext4.make_image(tree, layout.image, "armstft-root", inputs.app_key)
        log.info(f"rootfs.ext4: {size / 2**20:.0f} MiB (sparse), tree {ext4.tree_size(tree) / 2**20:.0f} MiB")
    record = {"base_key": inputs.base_key, "app_key": inputs.app_key, "bundle": inputs.bundle is not None}
    state.put("rootfs", {**record, "armstft_wheel": armstft_whl.name, "image_sha256": sha256(layout.image)})
    rebuilt.append("rootfs.ext4")
    return armstft_whl.name


def _build(repo: Path, layout: Layout, refresh: bool, force: bool) -> BuildResult:
    state = State(layout)
    rebuilt: list[str] = []
    if force:
        for stamp in layout.state.glob("*.json"):
            stamp.unlink()
    inputs = _inputs(repo, layout, refresh, state, rebuilt)
    armstft_name = _root_tree(layout, inputs, state, rebuilt)
    result = BuildResult(
        layout.kernel,
        layout.initrd,
        layout.image,
        layout.ssh_key,
        layout.ssh_pubkey,
        layout.known_hosts_entry,
        layout.board_json,
        layout.rootfs,
        inputs.kernel.version,
        rebuilt,
    )
    wheel_names = [p.name for p in inputs.third_party] + [armstft_name]
    _write_board_json(result, layout, state, inputs.key_set, inputs.closure, wheel_names)
    log.info(
        f"ready: {layout.out}" + (f" (rebuilt: {', '.join(rebuilt)})" if rebuilt else " (nothing rebuilt)")
    )
    return result


def _write_board_json(
    result: BuildResult,
    layout: Layout,
    state: State,
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
        "board_paths": {
            "bundle": f"/{BUNDLE_ON_BOARD}" if rs.get("bundle") else None,
            "site_packages": f"/{sysconfig.SITE_PACKAGES}",
            "armstft": "/usr/bin/armstft",
        },
        "hashes": {
            "vmlinuz": sha256(result.kernel),
            "initrd.img": sha256(result.initrd),
            "rootfs.ext4": rs.get("image_sha256"),
            "base_key": rs.get("base_key"),
            "build_key": rs.get("app_key"),
        },
        "packages": [str(d) for d in closure],
        "wheels": wheel_names,
        "rebuilt": result.rebuilt,
    }
    atomic_write(layout.board_json, json.dumps(doc, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.image.build", description=__doc__.splitlines()[0]
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
