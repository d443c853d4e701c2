"""Which Python standard-library modules torch, torchaudio and armstft really import, as oe-core packages.

Issue #19 (minimal image): oe-core splits CPython's standard library into ~55 ``python3-*`` packages by
``meta/recipes-devtools/python/python3/python3-manifest.json``; ``python3-modules`` pulls all of them
(tkinter, idle, pydoc, ensurepip, sqlite3, curses, venv, unittest, ...). This script measures what the
board really loads and maps it to those package names, so the recipes can RDEPEND on exactly that.

How it measures: it runs each scenario (``import torch, torchaudio, armstft`` and the ``armstft``
subcommands info, verify, bench --quick, run, exactly as the console script calls ``armstft.cli.main``)
in a fresh interpreter -- typically the aarch64 CPython of the emulated board's Debian rootfs under
``qemu-aarch64`` user mode, with PyPI's torch 2.9.1 / torchaudio 2.9.1 wheels installed there.
A ``sitecustomize`` put first on ``PYTHONPATH`` of every process of a scenario (forked and spawned
model workers included) records each module name the import audit event reports, written at once
(armstft SIGKILLs its model worker when done), and writes ``sys.modules`` (name and file) at exit
(``atexit`` and ``os._exit``); names seen only by the hook are then located by the same interpreter
(``importlib.util.find_spec``). The sitecustomize itself adds only the built-in ``atexit``.
With ``--rootfs`` the interpreter is a host wrapper around ``qemu-aarch64 -L ROOTFS`` given as argv[0]
(``qemu -0``), so ``sys.executable`` works for spawned workers without binfmt_misc.

Mapping: each standard-library module becomes the path it has in CPython's tree (``json/decoder.py``,
``lib-dynload/_json.*.so`` for extension modules; built-in modules of the measuring interpreter are
looked up as ``lib-dynload`` files first, since oe-core builds more of them as shared objects), and
the first manifest package (in the manifest's order, as ``do_package`` assigns files) whose ``files``
glob or directory holds that path owns it; a path no package claims lands in ``python3-misc``.

Usage (from the repository)::

    python scripts/stdlib_imports.py --rootfs ROOTFS --python /usr/bin/python3.11 \\
        --manifest CHECKOUT/openembedded-core/meta/recipes-devtools/python/python3/python3-manifest.json \\
        --bundle /usr/share/armstft/default --json out.json

``--rootfs`` runs the interpreter as ``qemu-aarch64 -L ROOTFS ROOTFS/PYTHON`` (leave it out to run
``--python`` directly, e.g. on the board itself). The repository's ``armstft`` package is put on
``PYTHONPATH`` ahead of any installed one (``--installed-armstft``: the tree's own). Prints one line
per scenario and the union; ``--json`` writes everything for docs and tests; ``--keep DIR`` keeps the
dumps and logs, and ``--keep DIR --reuse`` maps them again without running anything.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STDLIB_PREFIX = "${libdir}/python${PYTHON_MAJMIN}/"

# Written as sitecustomize.py into a directory put first on PYTHONPATH of every measured process.
# It must not import anything new itself: os and sys are loaded before site runs; atexit is built in.
SITECUSTOMIZE = """\
import atexit
import os
import sys

_DIR = os.environ.get("ARMSTFT_IMPORT_DUMP")
_real_exit = os._exit
_fd = [None, -1]  # (pid, fd) of this process's names file: a forked child opens its own


def _armstft_name(event, args):
    # every import the interpreter looks up, written at once: the model worker is SIGKILLed when done
    if event != "import" or not _DIR:
        return
    pid = os.getpid()
    if _fd[0] != pid:
        _fd[0] = pid
        _fd[1] = os.open(os.path.join(_DIR, "%d.names" % pid), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_fd[1], (str(args[0]) + "\\n").encode())


def _armstft_dump():
    if not _DIR:
        return
    stdlib = getattr(sys, "stdlib_module_names", ())
    with open(os.path.join(_DIR, "%d.txt" % os.getpid()), "w") as out:
        out.write("#stdlib\\t%s\\n" % " ".join(sorted(stdlib)))
        out.write("#prefix\\t%s\\n" % sys.base_prefix)
        for name, mod in list(sys.modules.items()):
            out.write("%s\\t%s\\n" % (name, getattr(mod, "__file__", None) or ""))


def _armstft_exit(code):
    try:
        _armstft_dump()
    finally:
        _real_exit(code)


sys.addaudithook(_armstft_name)
atexit.register(_armstft_dump)
os._exit = _armstft_exit
"""

# Run by the measuring interpreter after the scenarios: where each recorded name comes from (its
# parents get imported, the module itself is only found), for processes that could not dump sys.modules.
RESOLVER = """\
import importlib.util
import sys

with open(sys.argv[1]) as names, open(sys.argv[2], "w") as out:
    out.write("#stdlib\\t%s\\n" % " ".join(sorted(sys.stdlib_module_names)))
    out.write("#prefix\\t%s\\n" % sys.base_prefix)
    for name in names.read().split():
        try:
            spec = importlib.util.find_spec(name)
        except Exception:
            spec = None
        if spec is not None:
            out.write("%s\\t%s\\n" % (name, spec.origin if spec.has_location else ""))
"""

CONSOLE = "import sys; from armstft.cli import main; sys.exit(main(sys.argv[1:]))"


def scenarios(bundle: str, wav_path: Path, out_dir: Path) -> dict[str, list[str]]:
    """Scenario name -> interpreter arguments after the interpreter itself."""
    return {
        "import": ["-c", "import torch, torchaudio, armstft"],
        "info": ["-c", CONSOLE, "info"],
        "verify": ["-c", CONSOLE, "verify", bundle],
        "bench --quick": [
            "-c",
            CONSOLE,
            "bench",
            bundle,
            "--quick",
            "--threads",
            "1",
            "--out",
            str(out_dir / "bench.json"),
        ],
        "run": ["-c", CONSOLE, "run", bundle, str(wav_path)],
    }


def write_wav(path: Path, sample_rate: int = 16000, seconds: float = 1.0) -> None:
    """A 440 Hz tone as 16-bit mono PCM (the input `armstft run` reads)."""
    import math

    n = int(sample_rate * seconds)
    frames = bytearray()
    for i in range(n):
        v = int(12000 * math.sin(2 * math.pi * 440 * i / sample_rate))
        frames += v.to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(bytes(frames))


def parse_dump(path: Path, modules: dict[str, str]) -> tuple[set[str], str]:
    """Add one sys.modules dump (name TAB file lines) to modules; its stdlib names and prefix."""
    stdlib: set[str] = set()
    prefix = ""
    for line in path.read_text().splitlines():
        name, _, file = line.partition("\t")
        if name == "#stdlib":
            stdlib = set(file.split())
        elif name == "#prefix":
            prefix = file
        else:
            modules.setdefault(name, file)
    return stdlib, prefix


def read_dumps(dump_dir: Path) -> tuple[dict[str, str], set[str], str, set[str]]:
    """Union over a scenario's processes: modules (name -> file) of those that dumped sys.modules, the
    stdlib names, the interpreter's prefix, and every name the import audit hook saw (with its parents)."""
    modules: dict[str, str] = {}
    stdlib: set[str] = set()
    prefix = ""
    for f in sorted(dump_dir.glob("*.txt")):
        stdlib, prefix = parse_dump(f, modules)
    names: set[str] = set()
    for f in sorted(dump_dir.glob("*.names")):
        for name in f.read_text().split():
            parts = name.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return modules, stdlib, prefix, names


def load_manifest(path: Path) -> collections.OrderedDict:
    """oe-core's manifest: the JSON after the "# EOC" comment block, in file order (as python3_*.bb)."""
    text = path.read_text()
    return json.loads(text[text.find("# EOC") + 6 :], object_pairs_hook=collections.OrderedDict)


def stdlib_path(name: str, file: str, stdlib_dir: str) -> str:
    """The module's path relative to CPython's library directory as oe-core installs it."""
    if file and file.startswith(stdlib_dir + "/"):
        rel = file[len(stdlib_dir) + 1 :]
        if rel.startswith("lib-dynload/"):
            return "lib-dynload/" + name.rpartition(".")[2] + ".cpython-3XX.so"
        return rel
    # built into the measuring interpreter (or frozen): oe-core may ship it as lib-dynload/NAME.*.so
    return "lib-dynload/" + name + ".cpython-3XX.so"


def moved(rel: str) -> str:
    """The other layout of the same module: CPython turned some modules into packages (3.12's zipfile,
    3.14's string) and the measuring interpreter may be older than the target's."""
    if rel.endswith("/__init__.py"):
        return rel[: -len("/__init__.py")] + ".py"
    if rel.endswith(".py"):
        return rel[:-3] + "/__init__.py"
    return rel


def owner(rel: str, manifest: collections.OrderedDict) -> str | None:
    """The first manifest package whose files glob matches rel or is a directory above it."""
    for pkg, entry in manifest.items():
        for pattern in entry["files"]:
            if not pattern.startswith(STDLIB_PREFIX):
                continue
            p = pattern[len(STDLIB_PREFIX) :]
            if fnmatch.fnmatchcase(rel, p) or rel.startswith(p.rstrip("/") + "/"):
                return pkg
    return None


def classify(
    modules: dict[str, str], stdlib: set[str], prefix: str, manifest: collections.OrderedDict
) -> tuple[dict[str, str], list[str]]:
    """(stdlib module -> python3-* package, sorted third-party top-level names)."""
    stdlib_dir = next(
        (str(Path(f).parent) for n, f in modules.items() if n == "os" and f), f"{prefix}/lib/python3"
    )
    packages: dict[str, str] = {}
    third: set[str] = set()
    for name, file in sorted(modules.items()):
        top = name.partition(".")[0]
        if top in stdlib or (file and file.startswith(stdlib_dir + "/")):
            rel = stdlib_path(name, file, stdlib_dir)
            pkg = owner(rel, manifest) or owner(moved(rel), manifest)
            if pkg is None and rel.startswith("lib-dynload/"):
                pkg = "core"  # built in here and in oe-core's interpreter
            packages[name] = "python3-" + (pkg or "misc")
        elif file and top != "sitecustomize":  # not the measuring hook
            third.add(top)
    return packages, sorted(third)


def closure(pkgs: set[str], manifest: collections.OrderedDict) -> set[str]:
    """pkgs plus the manifest's rdepends between python3-* packages."""
    todo, seen = list(pkgs), set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        key = p.removeprefix("python3-")
        for dep in manifest.get(key, {}).get("rdepends", []):
            todo.append("python3-" + dep.split("-", 1)[1] if "${PN}" in dep else "python3-" + dep)
    return seen


def run_scenario(cmd: list[str], args: list[str], env: dict[str, str], dump: Path, log: Path) -> dict:
    dump.mkdir(parents=True)
    start = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.run(
            [*cmd, *args],
            env={**env, "ARMSTFT_IMPORT_DUMP": str(dump)},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    return {
        "exit": rc,
        "seconds": round(time.monotonic() - start, 1),
        "processes": len({p.stem for p in dump.iterdir() if p.suffix in (".txt", ".names")}),
        "processes_dumped": len(list(dump.glob("*.txt"))),
    }


def resolve(
    cmd: list[str], env: dict[str, str], work: Path, dump: Path
) -> tuple[dict[str, str], set[str], str, set[str]]:
    """Modules of the scenario, the ones only the audit hook saw located by the measuring interpreter."""
    modules, stdlib, prefix, names = read_dumps(dump)
    # stdlib modules, and third-party top-level packages (finding those imports nothing); a name the
    # interpreter cannot find was an optional import that failed, and is dropped
    unknown = sorted(n for n in names - set(modules) if n.partition(".")[0] in stdlib or "." not in n)
    if unknown:
        (dump / "unresolved.list").write_text("\n".join(unknown) + "\n")
        subprocess.run(
            [
                *cmd,
                str(work / "hook" / "resolve_modules.py"),
                str(dump / "unresolved.list"),
                str(dump / "resolved.txt"),
            ],
            env={k: v for k, v in env.items() if k != "PYTHONPATH"},
            check=True,
        )
        stdlib, prefix = parse_dump(dump / "resolved.txt", modules)
    return modules, stdlib, prefix, names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rootfs", type=Path, help="run --python from this aarch64 tree under qemu-aarch64 -L")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter (inside --rootfs if given)")
    ap.add_argument("--manifest", type=Path, required=True, help="oe-core's python3-manifest.json")
    ap.add_argument("--bundle", default="/usr/share/armstft/default", help="bundle for verify/bench/run")
    ap.add_argument(
        "--installed-armstft",
        action="store_true",
        help="measure the armstft installed in the interpreter's tree, not this repository's",
    )
    ap.add_argument("--only", action="append", help="run only these scenarios (repeatable)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--keep", type=Path, help="keep dumps and logs in this directory")
    ap.add_argument("--reuse", action="store_true", help="map the dumps already in --keep again, run nothing")
    args = ap.parse_args(argv)

    manifest = load_manifest(args.manifest)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="stdlib-imports-"))
    work.mkdir(parents=True, exist_ok=True)
    cmd = [args.python]
    if args.rootfs:
        # a host wrapper as argv[0] (qemu -0): sys.executable is then runnable, so armstft bench's
        # spawned worker (subprocess of sys.executable) runs under qemu too, without binfmt_misc
        wrapper = work / "bin" / "python3"
        wrapper.parent.mkdir(exist_ok=True)
        qemu = shutil.which("qemu-aarch64") or "qemu-aarch64"
        wrapper.write_text(
            f'#!/bin/sh\nexec {qemu} -L {args.rootfs} -0 "$0" {args.rootfs}{args.python} "$@"\n'
        )
        wrapper.chmod(0o755)
        cmd = [str(wrapper)]
    hook = work / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (hook / "resolve_modules.py").write_text(RESOLVER)
    write_wav(work / "tone.wav")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(hook) if args.installed_armstft else f"{hook}:{REPO}",
    }

    results: dict[str, dict] = {}
    union_pkgs: dict[str, str] = {}
    union_third: set[str] = set()
    for name, sargs in scenarios(args.bundle, work / "tone.wav", work).items():
        if args.only and name not in args.only:
            continue
        slug = name.replace(" ", "").replace("-", "")
        dump = work / f"dump-{slug}"
        if args.reuse:
            info = json.loads((work / f"{slug}.run.json").read_text())
        else:
            shutil.rmtree(dump, ignore_errors=True)
            info = run_scenario(cmd, sargs, env, dump, work / f"{slug}.log")
            (work / f"{slug}.run.json").write_text(json.dumps(info) + "\n")
        modules, stdlib, prefix, _names = resolve(cmd, env, work, dump)
        pkgs, third = classify(modules, stdlib, prefix, manifest)
        info.update(
            stdlib_modules=sorted(pkgs),
            packages=sorted(set(pkgs.values())),
            third_party=third,
            module_packages=pkgs,
        )
        results[name] = info
        union_pkgs.update(pkgs)
        union_third.update(third)
        print(
            f"{name}: exit {info['exit']} in {info['seconds']} s, {info['processes']} processes, "
            f"{len(pkgs)} stdlib modules -> {' '.join(info['packages'])}; third-party: {' '.join(third)}",
            flush=True,
        )

    needed = set(union_pkgs.values())
    by_pkg: dict[str, list[str]] = collections.defaultdict(list)
    for mod, pkg in sorted(union_pkgs.items()):
        by_pkg[pkg].append(mod)
    summary = {
        "command": [*cmd, "..."],
        "scenarios": results,
        "packages": sorted(needed),
        "closure": sorted(closure(needed, manifest)),
        "modules_by_package": dict(sorted(by_pkg.items())),
        "third_party": sorted(union_third),
    }
    print("all scenarios: " + " ".join(summary["packages"]))
    print("with the manifest's rdepends: " + " ".join(summary["closure"]))
    for pkg, mods in summary["modules_by_package"].items():
        print(f"  {pkg}: {' '.join(m for m in mods if '.' not in m)}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return 0 if all(r["exit"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
