"""Counts guest instructions of every STFT implementation, the log-mel front end and the whole default
model (guest.py's cases A-E, M, W) under qemu-aarch64 for each --cpus model, and times the same calls on the
x86 host; writes one JSON document and prints the table (table.py, goals beside the figures).

    python bench/instructions/measure.py [--out bench/instructions/measured.json] [--runs 2]
        [--cases A,B,C,D,E,M,I,W,Q] [--cpus cortex-a76,cortex-a72] [--merge]

``--merge`` re-measures only ``--cases`` and replaces their rows in an existing --out document, keeping
every other case's rows (and the host timings) as they were; the document lists each merge command.

Why a script and not a test: counts are figures to report, not pass/fail checks; they come from real
QEMU (Debian's dynamically linked qemu-aarch64, which loads TCG plugins), a real aarch64 CPython + torch
tree and the aarch64 wheel this repository builds.  Every input it needs is made or fetched on first use,
downloads under ``$ARMSTFT_CACHE/downloads`` and products under ``$ARMSTFT_BUILD/bench`` (harness/paths.py):
the plugin (built against Debian's qemu source headers, rebuilt when its source changes), the root tree
(the emulated board's, ``$ARMSTFT_BUILD/board/rootfs``, when it has been built — torch lives in its
``usr/local/lib/python3.11/dist-packages`` — else bench/instructions/make_sysroot.sh), scipy's aarch64 wheel
layered on the guest's path (the board does not carry scipy), the armstft wheel
(scripts/build-aarch64-wheel.sh, rebuilt every run).  Case W runs the default bundle's own files
(models/default), each under the quantized engine its manifest names, and reports each row as the
median, min and max of single calls (guest.py).  Two runs must agree within --tolerance or the script
says so.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from harness import paths  # the cache roots (harness is installed editable by scripts/bootstrap.sh)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

DOWNLOADS = paths.downloads()
CACHE = paths.build_root() / "bench"
QEMU_VERSION_DIR = "qemu-7.2.0"


def log(msg: str) -> None:
    print(f"[measure] {msg}", file=sys.stderr, flush=True)


def plugin_header() -> Path:
    """qemu-plugin.h from Debian's qemu source package (apt-get source through a private deb-src state)."""
    inc = DOWNLOADS / "qemu-src" / "include"
    if (inc / "qemu-plugin.h").is_file():
        return inc
    apt = DOWNLOADS / "aptsrc"
    for d in ("lists/partial", "cache/archives/partial", "etc"):
        (apt / d).mkdir(parents=True, exist_ok=True)
    (apt / "etc" / "sources.list").write_text("deb-src http://deb.debian.org/debian bookworm main\n")
    opts = [
        f"-oDir::Etc::SourceList={apt}/etc/sources.list", "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={apt}/lists", f"-oDir::Cache={apt}/cache", "-oDebug::NoLocking=1",
    ]  # fmt: skip
    src = DOWNLOADS / "qemu-src"
    src.mkdir(parents=True, exist_ok=True)
    log("fetching Debian's qemu source package for qemu-plugin.h")
    subprocess.run(["apt-get", *opts, "-qq", "update"], check=True)
    subprocess.run(["apt-get", *opts, "-qq", "source", "--download-only", "qemu"], check=True, cwd=src)
    orig = sorted(src.glob("qemu_*.orig.tar.xz"))[-1]
    inc.mkdir(parents=True, exist_ok=True)
    member = f"{QEMU_VERSION_DIR}/include/qemu/qemu-plugin.h"
    subprocess.run(["tar", "xJf", str(orig), "-C", str(inc), "--strip-components=3", member], check=True)
    return inc


def build_plugin() -> Path:
    """The counting plugin, rebuilt when its source or the plugin header changes (keyed on their bytes)."""
    src = HERE / "insn_count.c"
    inc = plugin_header()
    key = hashlib.sha256(src.read_bytes() + b"\0" + (inc / "qemu-plugin.h").read_bytes()).hexdigest()[:16]
    out = CACHE / "plugin" / key / "insn_count.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = ["cc", "-O2", "-shared", "-fPIC", "-Wall", "-I", str(inc), str(src), "-o", str(out)]
    subprocess.run(cc, check=True)
    return out


def has_python_and_torch(root: Path) -> bool:
    """python3.11 and torch where the guest's python3.11 looks: Debian's ``usr/lib/python3/dist-packages``
    (our sysroot) or ``usr/local/lib/python3.11/dist-packages`` (the board)."""
    return (root / "usr/bin/python3.11").exists() and site_has(root, "torch")


def site_has(root: Path, package: str) -> bool:
    return any(any(root.glob(f"{pre}/lib/python3*/*-packages/{package}")) for pre in ("usr", "usr/local"))


def find_rootfs(given: str | None) -> Path:
    """--rootfs, else the board builder's tree if it holds python3.11 + torch, else our own small one."""
    candidates = [Path(given)] if given else []
    candidates.append(paths.build_root() / "board/rootfs")
    for root in candidates:
        if has_python_and_torch(root):
            return root  # not ours to write into: its .pyc files are whatever its builder made
        if given:
            sys.exit(f"measure: error: --rootfs {given}: expected usr/bin/python3.11 and torch, got neither")
    log("no board rootfs with torch yet: making our own (bench/instructions/make_sysroot.sh)")
    out = subprocess.run([str(HERE / "make_sysroot.sh")], check=True, stdout=subprocess.PIPE, text=True)
    root = Path(out.stdout.strip().splitlines()[-1])
    compile_tree(root / "usr/lib")
    return root


def unpack_wheel() -> Path:
    """Cross-build the aarch64 wheel from this tree and unpack it as the guest's PYTHONPATH."""
    env = {**os.environ, "PYTHON": sys.executable}
    out = subprocess.run(
        [str(REPO / "scripts/build-aarch64-wheel.sh"), str(CACHE / "wheels")],
        check=False, capture_output=True, text=True, env=env,
    )  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"measure: error: build-aarch64-wheel.sh: expected a wheel, got: {out.stderr[-2000:]}")
    wheel = Path(out.stdout.strip().splitlines()[-1])
    dest = CACHE / "guest-site"
    shutil.rmtree(dest, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(dest)
    compile_tree(dest)
    return dest


def scipy_layer(root: Path) -> list[Path]:
    """scipy for the guest's scipy.fft row when the tree has none (the board image does not carry it): the
    aarch64 wheel of the host's scipy version, unpacked once, after the armstft wheel on the guest's path."""
    if site_has(root, "scipy"):
        return []
    version = importlib.metadata.version("scipy")
    dest = CACHE / f"guest-scipy-{version}"
    if (dest / "scipy").is_dir():
        return [dest]
    wheels = DOWNLOADS / "bench-wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
         "--python-version", "3.11", "--implementation", "cp", "-d", str(wheels), f"scipy=={version}"],
        check=True,
    )  # fmt: skip
    wheel = next(wheels.glob(f"scipy-{version}-*aarch64*.whl"))
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(partial)
    compile_tree(partial)
    partial.rename(dest)
    return [dest]


def compile_tree(path: Path) -> None:
    """Byte-compile once, on the host (same 3.11 bytecode): otherwise the first guest run compiles and the
    second does not, and their heaps - so the counts of allocating calls - differ by ~0.5 %."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", str(path)], check=False)


DEFAULT_BUNDLE = REPO / "models" / "default"  # case W measures this bundle's own files


def run_guest(
    plugin: Path, root: Path, site: list[Path], cases: str, cpu: str, models: Path | None = None,
    script: Path = HERE / "guest.py", python: str = "usr/bin/python3.11",
) -> list[dict]:  # fmt: skip
    """One emulated process of ``script`` (default guest.py; compare_torch.py passes its own) run by the
    tree's ``python``, with case W's ``models`` folder if given: returns the plan entries with their per-call
    instruction counts."""
    with tempfile.TemporaryDirectory() as tmp:
        marks_file = Path(tmp) / "marks.txt"
        # fixed hash seed, no address randomisation: dict probing and malloc placement (so counts) repeat
        cmd = [
            "setarch", platform.machine(), "-R",
            "qemu-aarch64", "-cpu", cpu, "-plugin", f"{plugin},out={marks_file}", "-L", str(root),
            str(root / python), str(script), cases,
        ]  # fmt: skip
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(map(str, site)), "OMP_NUM_THREADS": "1",
               "HOME": tmp, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
        if models is not None:
            env["ARMSTFT_BENCH_MODELS"] = str(models)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env)
        log(f"guest run took {time.monotonic() - t0:.0f} s")
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
        marks = [int(line.split()[1]) for line in marks_file.read_text().splitlines() if line[:1].isdigit()]
    plan = doc["plan"]
    expected = sum(e["repeats"] + 2 if e["distribution"] else 3 for e in plan)
    if len(marks) != expected:
        sys.exit(f"measure: error: {marks_file}: expected {expected} marks, got {len(marks)}")
    at = 0
    for entry in plan:
        if entry["distribution"]:  # mark, mark, then one mark per call: each call less the marker alone
            m = marks[at : at + entry["repeats"] + 2]
            marker = m[1] - m[0]
            calls = [m[i + 1] - m[i] - marker for i in range(1, len(m) - 1)]
            entry["calls"] = calls
            entry["per_call"] = statistics.median(calls)
            entry["per_call_min"], entry["per_call_max"] = min(calls), max(calls)
            at += len(m)
        else:  # mark, 1 call, mark, R calls, mark: (R calls - 1 call) / (R - 1) cancels marker and set-up
            m0, m1, m2 = marks[at : at + 3]
            entry["per_call"] = ((m2 - m1) - (m1 - m0)) / (entry["repeats"] - 1)
            at += 3
        entry["per_frame"] = entry["per_call"] / entry["frames"]
    return [{"info": doc["info"]}, *plan]


def host_wallclock(cases: list[str], seconds: float, models: Path) -> dict:
    """Median wall-clock of the same calls on this host, interleaved so drift hits all alike."""
    sys.path.insert(0, str(HERE))
    import guest  # the same call definitions as in the emulated run
    import torch

    torch.set_num_threads(1)
    out: dict[str, dict[str, float]] = {}
    for case in cases:
        calls = {k: v for k, v in guest.make_calls(case, models).items() if "(accelerated)" not in k}
        times: dict[str, list[float]] = {k: [] for k in calls}
        for fn, _ in calls.values():
            for _ in range(3):
                fn()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for impl, (fn, _) in calls.items():
                t0 = time.perf_counter()
                fn()
                times[impl].append(time.perf_counter() - t0)
        out[case] = {impl: statistics.median(ts) * 1e6 for impl, ts in times.items()}
    return {"cpu": platform.processor() or platform.machine(), "threads": 1, "median_us": out}


def merged(path: Path, doc: dict, cases: list[str]) -> dict:
    """The document at ``path`` with ``cases``' rows (per CPU) replaced by ``doc``'s, other rows kept."""
    old = json.loads(path.read_text())
    if doc["qemu"] != old["qemu"]:
        sys.exit(f"measure: error: --merge: {path} was counted under {old['qemu']}, this run {doc['qemu']}")
    if doc["command"] not in old.setdefault("merged", []):  # once, though written after each CPU's series
        old["merged"].append(doc["command"])
    order = "ABCDEMIWQ"  # guest.py's case order
    for cpu, run in doc["cpus"].items():
        kept = old["cpus"].get(cpu)
        if kept is None:
            sys.exit(f"measure: error: --merge: {path} has no {cpu} series to merge into")
        rows = [r for r in kept["rows"] if r["case"] not in cases] + run["rows"]
        kept["rows"] = sorted(rows, key=lambda r: order.find(r["case"]) % (len(order) + 1))
        kept["guest"].update(run["guest"])
        kept["max_run_spread"] = max(kept["max_run_spread"], run["max_run_spread"])
    return old


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "measured.json"))
    ap.add_argument("--runs", type=int, default=2, help="emulated runs (to show the counts repeat)")
    ap.add_argument("--cases", default="A,B,C,D,E,M,I,W,Q")
    ap.add_argument("--cpus", default="cortex-a76,cortex-a72", help="QEMU -cpu models, one guest series each")
    ap.add_argument("--rootfs", default=None)
    ap.add_argument("--tolerance", type=float, default=0.001, help="max relative spread between runs")
    ap.add_argument("--host-seconds", type=float, default=3.0, help="per case, for the x86 medians (0: skip)")
    ap.add_argument("--merge", action="store_true", help="replace only --cases' rows in an existing --out")
    args = ap.parse_args()
    if args.merge:
        args.host_seconds = 0.0  # the kept host timings stay those of the full run

    plugin, root = build_plugin(), find_rootfs(args.rootfs)
    site = [unpack_wheel(), *scipy_layer(root)]
    models = DEFAULT_BUNDLE
    log(f"plugin {plugin}, rootfs {root}, guest path {':'.join(map(str, site))}, models {models}")
    doc: dict = {
        "schema": "armstft.insn-bench/2",
        "command": "python bench/instructions/measure.py " + " ".join(sys.argv[1:]),
        "qemu": subprocess.run(
            ["qemu-aarch64", "--version"], stdout=subprocess.PIPE, text=True
        ).stdout.splitlines()[0],
        "cpus": {},
    }
    worst = 0.0
    for cpu in args.cpus.split(","):
        runs = [run_guest(plugin, root, site, args.cases, cpu, models) for _ in range(args.runs)]
        info, rows = runs[0][0]["info"], runs[0][1:]
        spread = 0.0
        for i, row in enumerate(rows):
            # a distribution row's median moves with the process's memory layout (guest.py, case Q); its
            # minimum - every cache hit - is what two runs must agree on
            key = "per_call_min" if row["distribution"] else "per_call"
            counts = [r[i + 1][key] for r in runs]
            row["per_call_runs"] = [r[i + 1]["per_call"] for r in runs]
            spread = max(spread, (max(counts) - min(counts)) / max(min(counts), 1.0))
        doc["cpus"][cpu] = {"guest": info, "max_run_spread": spread, "rows": rows}
        worst = max(worst, spread)
        out = merged(Path(args.out), doc, args.cases.split(",")) if args.merge else doc
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")  # kept even if a later step fails
    if args.host_seconds > 0:
        doc["host"] = host_wallclock(
            [c for c in args.cases.split(",") if c != "W"], args.host_seconds, models
        )
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    log(f"wrote {args.out}; largest spread between runs {worst:.2e}")
    subprocess.run([sys.executable, str(HERE / "table.py"), args.out], check=True)
    if worst > args.tolerance:
        sys.exit(f"measure: error: runs differ by {worst:.2e}, expected <= {args.tolerance}")


if __name__ == "__main__":
    main()
