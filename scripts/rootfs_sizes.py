"""The Python part of an image's rootfs, in bytes, from real files: wheels split by FILES, stdlib by manifest.

Issue #19 (minimal image). Nothing is built here (no compiler sources offline), so the sizes come from
the files the packages are made of:

* wheels (PyPI's cp314 aarch64 torch and torchaudio the -bin recipes install; the other Requires-Dist as
  pure-Python or aarch64 wheels): every member's uncompressed size, split into the runtime package and
  ``-dev`` with the recipe's ``FILES:${PN}-dev`` patterns (site-packages relative; a pattern naming a
  directory takes all below it, as do_package does). python_pep517 installs with
  ``--compile-bytecode=0``, so every ``.py`` also ships a ``.pyc``: their size is *estimated* by
  compiling each source in memory with the running interpreter (marshal of the code object plus the
  16-byte header), not with the target's CPython;
* the standard library: the files of a CPython tree (``--stdlib``, e.g. the emulated board's Debian
  ``/usr/lib/python3.11`` with its ``__pycache__``), each assigned to an oe-core ``python3-*`` package
  by python3-manifest.json the way scripts/stdlib_imports.py assigns modules; summed over the python3-*
  packages an image closure (scripts/image_closure.py --json) holds. A 3.11 tree for a 3.14 target:
  an estimate.

Usage::

    python scripts/rootfs_sizes.py --manifest MANIFEST --stdlib ROOTFS/usr/lib/python3.11 \\
        --wheel torch-2.9.1-cp314-...whl --wheel torchaudio-...whl --dep-wheel DIR/*.whl \\
        --closure closure-image.json [--closure closure-image-dev.json] [--json out.json]
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import marshal
import sys
import zipfile
from pathlib import Path

# FILES:${PN}-dev of python3-torch-bin, relative to site-packages (the recipe's values)
TORCH_DEV = (
    "torch/include",
    "torch/share/cmake",
    "torch/bin/protoc*",
    "torch/lib/libshm/*.h",
    "torch/lib/libshm_windows",
)
MB = 1e6


def _stdlib_imports():
    spec = importlib.util.spec_from_file_location(
        "stdlib_imports", Path(__file__).with_name("stdlib_imports.py")
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def is_dev(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or name.startswith(p.rstrip("/") + "/") for p in patterns)


def pyc_size(source: bytes, name: str) -> int:
    """Bytes of the .pyc this interpreter writes for a source (header + marshalled code); 0 if invalid."""
    try:
        return 16 + len(marshal.dumps(compile(source, name, "exec", dont_inherit=True)))
    except (SyntaxError, ValueError):
        return 0


def package_name(wheel: Path) -> str:
    """python3-<distribution> as oe-core names it (typing_extensions -> python3-typing-extensions)."""
    return "python3-" + wheel.name.split("-")[0].lower().replace("_", "-")


def wheel_sizes(wheel: Path, dev_patterns: tuple[str, ...]) -> dict[str, int]:
    """{'runtime', 'runtime_pyc', 'dev', 'dev_pyc', 'files'} in bytes for one wheel."""
    out = {"runtime": 0, "runtime_pyc": 0, "dev": 0, "dev_pyc": 0, "files": 0}
    with zipfile.ZipFile(wheel) as whl:
        for info in whl.infolist():
            if info.is_dir():
                continue
            part = "dev" if is_dev(info.filename, dev_patterns) else "runtime"
            out[part] += info.file_size
            out["files"] += 1
            if info.filename.endswith(".py"):
                out[part + "_pyc"] += pyc_size(whl.read(info), info.filename)
    return out


def stdlib_sizes(stdlib: Path, manifest) -> dict[str, int]:
    """python3-* package -> bytes of the tree's files (.py, .so, __pycache__ .pyc, data) it would hold."""
    si = _stdlib_imports()
    sizes: dict[str, int] = {}
    for f in stdlib.rglob("*"):
        if not f.is_file() or "site-packages" in f.parts or "dist-packages" in f.parts:
            continue
        rel = f.relative_to(stdlib).as_posix()
        if "/__pycache__/" in "/" + rel:  # D/__pycache__/N.cpython-3XX.pyc belongs with D/N.py
            d, _, pyc = rel.rpartition("__pycache__/")
            rel = d + pyc.split(".")[0] + ".py"
        elif rel.startswith("lib-dynload/"):
            rel = "lib-dynload/" + f.name.split(".")[0] + ".cpython-3XX.so"
        pkg = si.owner(rel, manifest) or si.owner(si.moved(rel), manifest) or "misc"
        sizes["python3-" + pkg] = sizes.get("python3-" + pkg, 0) + f.stat().st_size
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, required=True, help="oe-core's python3-manifest.json")
    ap.add_argument("--stdlib", type=Path, required=True, help="a CPython library directory with its .pyc")
    ap.add_argument("--wheel", type=Path, action="append", default=[], help="torch/torchaudio (-dev split)")
    ap.add_argument("--dep-wheel", type=Path, action="append", default=[], help="other wheels (all runtime)")
    ap.add_argument(
        "--closure", type=Path, action="append", default=[], help="image_closure.py --json output"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    manifest = _stdlib_imports().load_manifest(args.manifest)
    wheels: dict[str, dict[str, int]] = {}
    for w in args.wheel:
        wheels[package_name(w)] = wheel_sizes(w, TORCH_DEV if w.name.startswith("torch-") else ())
    for w in args.dep_wheel:
        wheels[package_name(w)] = wheel_sizes(w, ())
    std = stdlib_sizes(args.stdlib, manifest)

    print(f"{'package':32} {'runtime MB':>10} {'+pyc MB':>8} {'-dev MB':>8} {'files':>6}")
    for pkg, s in sorted(wheels.items()):
        mb = [s[k] / MB for k in ("runtime", "runtime_pyc", "dev")]
        print(f"{pkg:32} {mb[0]:10.1f} {mb[1]:8.1f} {mb[2]:8.1f} {s['files']:6}")
    all_std = sum(std.values())
    print(f"python3 standard library, all {len(std)} packages: {all_std / MB:.1f} MB")
    images = {}
    for c in args.closure:
        closure = json.loads(c.read_text())
        pkgs = closure["packages"]
        std_pkgs = sorted(p for p, v in pkgs.items() if v["recipe"] == "python3")
        std_bytes = sum(std.get(p, 0) for p in std_pkgs)
        pypi = {p: s for p, s in wheels.items() if p in pkgs or p + "-bin" in pkgs}  # the -bin recipes' PN
        pypi_bytes = sum(s["runtime"] + s["runtime_pyc"] for s in pypi.values())
        missing = sorted(
            p
            for p in pkgs
            if p.startswith("python3-") and p not in std and p.removesuffix("-bin") not in wheels
        )
        images[closure["image"]] = {
            "stdlib_packages": len(std_pkgs),
            "stdlib_bytes": std_bytes,
            "wheel_packages": sorted(pypi),
            "wheel_bytes": pypi_bytes,
            "python3_packages_without_size": missing,
        }
        print(
            f"{closure['image']}: standard library {len(std_pkgs)} packages {std_bytes / MB:.1f} MB; "
            f"{len(pypi)} wheel packages (runtime + pyc) {pypi_bytes / MB:.1f} MB; "
            f"python total {(std_bytes + pypi_bytes) / MB:.1f} MB; no size for: {' '.join(missing) or '-'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"wheels": wheels, "stdlib": std, "images": images}, indent=1, sort_keys=True) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
