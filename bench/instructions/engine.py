"""The FFT engine alone (armstft/faststft/src): aarch64 instructions per transform, and host timings.

    python bench/instructions/engine.py [--out bench/instructions/engine.json] [--sizes 256,400,512,1024,2048]
        [--cpus cortex-a76,cortex-a72] [--reps 1000] [--baseline REV] [--host-seconds 2]

Counts: engine_driver.c and the engine's C sources are cross-compiled the way the anchor engines were
(ANCHORS below: GCC 12 aarch64-linux-gnu-gcc -O3 -march=armv8-a, float32) and run
under Debian's qemu-aarch64 with the counting plugin (insn_count.c, built by measure.py), R transforms
between two markers, forward rfft (hann window included) and inverse irfft (scale 1/N) per size.  Every
output is checked against numpy float64 (max |error| <= 1e-5 of the peak; a NaN fails) or the script exits 1.
--baseline REV also counts the forward transform of the engine as committed at REV (git show), for
before/after figures.  Host: the same sources as a shared library for this machine, timed through ctypes
(one call per batch of frames) beside torch.fft and numpy.fft on the same frames, interleaved, medians,
ratios; the AVX2 plans run only where the CPU has AVX2 and FMA.

Why a script and not a test: the counts are figures to report; the engine tests
(tests/unit/faststft/test_faststft_engine.py) reuse the build and check helpers below for correctness.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SRC = REPO / "armstft" / "faststft" / "src"
DRIVER = HERE / "engine_driver.c"
# what the engine is; stft.c and the operator library (src/ops/) sit on top of it
ENGINE_SOURCES = ("fft.c", "fft_mixed.c")
ENGINE_HEADERS = ("fft.h", "fft_mixed.h", "simd.h", "simd_avx2.h", "split.h", "dft.h", "engine_core.h")
CROSS_CC = "aarch64-linux-gnu-gcc"
CROSS_FLAGS = ["-O3", "-march=armv8-a", "-std=gnu11", "-static"]  # the anchors' method
HOST_FLAGS = ["-O3", "-std=gnu11", "-fno-math-errno", "-fPIC", "-shared", "-DENGINE_DRIVER_LIB"]  # setup.py's
TOLERANCE = 1e-5
ANCHORS = {  # forward rfft, guest instructions: the team's counts of the permissive engines (issue 12)
    "CMSIS-DSP rfft_fast NEON": {512: 4512, 1024: 10394},
    "PFFFT unordered": {512: 4627, 1024: 9020},
    "PFFFT ordered": {512: 5244, 1024: 10213},
    "FFTW 3.3.10 NEON": {512: 7628, 1024: 14561},
}
ANCHORS_SOURCE = "issue 12's anchor counts (GCC 12 -O3 -march=armv8-a, qemu-aarch64), as in engine.py"
GOALS = {512: 4300, 1024: 9500}  # issue 12: forward, window included, below every anchor
BURST = 8  # host timing: calls per implementation per round


def log(msg: str) -> None:
    print(f"[engine] {msg}", file=sys.stderr, flush=True)


def cases_for(sizes: list[int], inverse: bool = True) -> list[str]:
    return [f"{n}:{d}" for n in sizes for d in ("fi" if inverse else "f")]


def build_driver(dest: Path, src: Path = SRC, cc: str = CROSS_CC, flags: list[str] = CROSS_FLAGS) -> Path:
    """engine_driver.c + the engine at src, as a static aarch64 executable."""
    sources = [str(DRIVER), *(str(src / f) for f in ENGINE_SOURCES)]
    subprocess.run(
        [cc, *flags, f"-I{src}", *sources, "-lm", "-o", str(dest)], check=True, capture_output=True
    )
    return dest


def run_driver(exe: Path, cases: list[str], reps: int, cpu: str, plugin: Path | None, tmp: Path):
    """One emulated run: (isa per case, outputs per case, instructions per transform per case or None)."""
    data, marks_file = tmp / "outputs.bin", tmp / "marks.txt"
    cmd = ["qemu-aarch64", "-cpu", cpu]
    if plugin is not None:
        cmd += ["-plugin", f"{plugin},out={marks_file}"]
    out = subprocess.run([*cmd, str(exe), str(reps), str(data), *cases], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{exe.name}: exit {out.returncode}: {out.stderr.strip()}")
    isas = [line.split()[2] for line in out.stdout.splitlines()]
    counts = None
    if plugin is not None:
        marks = [int(x.split()[1]) for x in marks_file.read_text().splitlines() if x[:1].isdigit()]
        if len(marks) != 3 * len(cases):
            raise RuntimeError(f"{marks_file}: expected {3 * len(cases)} marks, got {len(marks)}")
        counts = [((m[2] - m[1]) - (m[1] - m[0])) / (reps - 1) for m in zip(*[iter(marks)] * 3, strict=True)]
    return isas, read_outputs(data, cases), counts


def read_outputs(path: Path, cases: list[str]) -> list[dict[str, np.ndarray]]:
    """engine_driver's OUT file: forward frame, window, spectrum; inverse spectrum, signal (float32 each)."""
    raw, pos, got = np.fromfile(path, dtype=np.float32), 0, []
    for case in cases:
        n, d = int(case.split(":")[0]), case.split(":")[1]
        shapes = {"frame": n, "window": n, "out": n + 2} if d == "f" else {"spec": n + 2, "out": n}
        arrs = {}
        for key, size in shapes.items():
            arrs[key] = raw[pos : pos + size]
            pos += size
        got.append(arrs)
    if pos != raw.size:
        raise RuntimeError(f"{path}: expected {pos} floats, got {raw.size}")
    return got


def rel_error(n: int, d: str, arrs: dict[str, np.ndarray]) -> float:
    """max |engine - numpy float64| / max |numpy| (NaN when the engine gave a NaN)."""
    if d == "f":
        ref = np.fft.rfft(arrs["frame"].astype(np.float64) * arrs["window"].astype(np.float64))
        got = arrs["out"][0::2].astype(np.float64) + 1j * arrs["out"][1::2]
    else:
        spec = arrs["spec"].astype(np.float64)
        ref = np.fft.irfft(spec[0::2] + 1j * spec[1::2], n)
        got = arrs["out"].astype(np.float64)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    return float(err) if np.isfinite(got).all() else float("nan")


# ---- host library (ctypes) -------------------------------------------------------------------------------


@dataclass
class HostEngine:
    """The engine built for this machine; plans by instruction set (0 auto, 1 baseline, 2 AVX2)."""

    lib: ctypes.CDLL

    @classmethod
    def build(cls, dest: Path, src: Path = SRC, cc: str = "cc", extra: tuple[str, ...] = ()) -> HostEngine:
        sources = [str(DRIVER), *(str(src / f) for f in ENGINE_SOURCES)]
        subprocess.run([cc, *HOST_FLAGS, *extra, f"-I{src}", *sources, "-lm", "-o", str(dest)], check=True)
        lib = ctypes.CDLL(str(dest))
        vp, fp, i = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int
        lib.armstft_plan_new.restype, lib.armstft_plan_new.argtypes = vp, [i]
        lib.armstft_simd_name.restype = ctypes.c_char_p
        if hasattr(lib, "armstft_plan_new_isa"):
            lib.armstft_plan_new_isa.restype, lib.armstft_plan_new_isa.argtypes = vp, [i, i]
            lib.armstft_plan_isa.restype, lib.armstft_plan_isa.argtypes = ctypes.c_char_p, [vp]
            lib.drv_irfft_batch.argtypes = [vp, fp, i, ctypes.c_float, fp, fp]
        lib.armstft_plan_scratch.restype, lib.armstft_plan_scratch.argtypes = ctypes.c_size_t, [vp]
        lib.armstft_plan_free.restype, lib.armstft_plan_free.argtypes = None, [vp]
        lib.armstft_split_window.argtypes = [i, fp, ctypes.c_longlong, ctypes.c_float, fp, fp]
        lib.drv_rfft_batch.argtypes = [vp, fp, i, fp, fp, fp, fp]
        return cls(lib)

    def plan(self, n: int, isa: int) -> HostPlan | None:
        if not hasattr(self.lib, "armstft_plan_new_isa"):  # an engine from before ARMSTFT_FFT_API 2
            return HostPlan(self, self.lib.armstft_plan_new(n), n) if isa == 0 else None
        p = self.lib.armstft_plan_new_isa(n, isa)
        return HostPlan(self, p, n) if p else None


class HostPlan:
    """One plan with its scratch; rfft/irfft of a batch of frames in one C call."""

    def __init__(self, eng: HostEngine, handle: int, n: int) -> None:
        self.eng, self.handle, self.n = eng, handle, n
        named = hasattr(eng.lib, "armstft_plan_isa")
        self.isa = (eng.lib.armstft_plan_isa(handle) if named else eng.lib.armstft_simd_name()).decode()
        self.scratch = np.zeros(eng.lib.armstft_plan_scratch(handle) + 16, np.float32)

    def __del__(self) -> None:
        self.eng.lib.armstft_plan_free(self.handle)

    def split_window(self, window: np.ndarray | None, scale: float = 1.0) -> np.ndarray:
        w = np.zeros(self.n, np.float32)
        win = None if window is None else np.ascontiguousarray(window, np.float32)
        wl = self.n if win is None else win.size
        ptr = None if win is None else win.ctypes.data
        self.eng.lib.armstft_split_window(self.n, ptr, wl, scale, w.ctypes.data, w.ctypes.data + 2 * self.n)
        return w

    def rfft(self, frames: np.ndarray, split_window: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        frames = np.ascontiguousarray(frames, np.float32)
        count = frames.shape[0]
        out = np.empty((count, self.n + 2), np.float32) if out is None else out
        half = split_window.ctypes.data + 2 * self.n
        self.eng.lib.drv_rfft_batch(
            self.handle, frames.ctypes.data, count, split_window.ctypes.data, half, out.ctypes.data,
            self.scratch.ctypes.data,
        )  # fmt: skip
        return out

    def irfft(self, spec: np.ndarray, scale: float, out: np.ndarray | None = None) -> np.ndarray:
        spec = np.ascontiguousarray(spec, np.float32)
        count = spec.shape[0]
        out = np.empty((count, self.n), np.float32) if out is None else out
        self.eng.lib.drv_irfft_batch(
            self.handle, spec.ctypes.data, count, scale, out.ctypes.data, self.scratch.ctypes.data
        )
        return out


def size_calls(n: int, frames: int, eng: HostEngine, old: HostEngine | None) -> dict:
    """The timed calls for one size: our plans (baseline vectors, AVX2), --baseline's, torch, numpy."""
    import torch

    rng = np.random.default_rng(n)
    x = rng.standard_normal((frames, n)).astype(np.float32)
    spec = np.fft.rfft(x).astype(np.complex64)
    spec_f = spec.view(np.float32).copy()
    xt, st = torch.from_numpy(x), torch.from_numpy(spec)
    calls = {}
    plans = []
    for isa in (1, 2):  # the build's baseline vectors, then AVX2 + FMA where the CPU and n allow
        p = eng.plan(n, isa)
        if p is not None and (isa == 1 or p.isa == "avx2"):
            plans.append((f"ours {p.isa}", p))
    p = old.plan(n, 0) if old is not None else None
    if p is not None:
        plans.append((f"baseline {p.isa}", p))
    for name, plan in plans:
        w = plan.split_window(np.hanning(n))
        o1 = np.empty((frames, n + 2), np.float32)
        calls[f"{name} rfft"] = lambda p=plan, w=w, o=o1: p.rfft(x, w, o)
        if not name.startswith("baseline"):
            o2 = np.empty((frames, n), np.float32)
            calls[f"{name} irfft"] = lambda p=plan, o=o2: p.irfft(spec_f, 1.0 / n, o)
    calls["torch.fft.rfft"] = lambda: torch.fft.rfft(xt)
    calls["torch.fft.irfft"] = lambda: torch.fft.irfft(st, n)
    calls["numpy.fft.rfft"] = lambda: np.fft.rfft(x)
    calls["numpy.fft.irfft"] = lambda: np.fft.irfft(spec, n)
    return calls


def host_timing(sizes: list[int], seconds: float, frames: int, tmp: Path, baseline: Path | None) -> dict:
    """Median time per frame of each implementation on one batch, all interleaved in one run."""
    import torch

    torch.set_num_threads(1)
    eng = HostEngine.build(tmp / "engine_host.so")
    old = HostEngine.build(tmp / "baseline_host.so", src=baseline) if baseline else None
    result: dict = {
        "cpu": platform.processor() or platform.machine(),
        "threads": 1,
        "frames_per_call": frames,
        "calls_per_round": BURST,
        "torch": torch.__version__,
        "torch_mkl": bool(torch.backends.mkl.is_available()),
        "note": "ours includes the window multiply; torch.fft and numpy.fft are the bare transforms",
        "ns_per_frame": {},
    }
    for n in sizes:
        calls = size_calls(n, frames, eng, old)
        times: dict[str, list[float]] = {k: [] for k in calls}
        for fn in calls.values():
            fn()
        end = time.monotonic() + seconds
        while time.monotonic() < end:  # rounds interleave the implementations, so drift hits all alike
            for name, fn in calls.items():
                t0 = time.perf_counter_ns()
                for _ in range(BURST):  # back to back, as an STFT runs frames: the caches stay its own
                    fn()
                times[name].append((time.perf_counter_ns() - t0) / BURST)
        result["ns_per_frame"][str(n)] = {k: statistics.median(v) / frames for k, v in times.items()}
    return result


# ---- report ----------------------------------------------------------------------------------------------


def table(doc: dict) -> str:
    """Markdown: per size and direction, counts per CPU model, the baseline, anchors and goal."""
    cpus = doc["cpus"]
    lines = [
        f"Guest instructions per transform ({doc['compiler']}, {' '.join(CROSS_FLAGS[:-1])}; {doc['qemu']}); "
        f"forward includes the window; every output within {TOLERANCE:g} of numpy float64.",
        "",
        "| N | dir | " + " | ".join(f"ours {c}" for c in cpus) + " | baseline | "
        + " | ".join(ANCHORS) + " | goal | met |",
        "|---:|---|" + "---:|" * (len(cpus) + 1 + len(ANCHORS) + 1) + "---|",
    ]  # fmt: skip
    base = {r["n"]: r["count"] for r in doc.get("baseline", {}).get("rows", [])}
    for row in doc["rows"]:
        n, d = row["n"], row["dir"]
        ours = [row["count"][c] for c in cpus]
        goal = GOALS.get(n) if d == "forward" else None
        anchors = [f"{ANCHORS[a][n]:,}" if d == "forward" and n in ANCHORS[a] else "" for a in ANCHORS]
        b = f"{base[n]:,.0f}" if d == "forward" and n in base else ""
        met = "" if goal is None else ("yes" if max(ours) <= goal else "no")
        lines.append(
            f"| {n} | {d} | " + " | ".join(f"{c:,.0f}" for c in ours) + f" | {b} | " + " | ".join(anchors)
            + f" | {'' if goal is None else f'<= {goal:,}'} | {met} |"
        )  # fmt: skip
    host = doc.get("host")
    if host:
        lines += ["", f"Host ({host['cpu']}, 1 thread, torch {host['torch']}, MKL {host['torch_mkl']}): "
                  f"ns per frame, and torch.fft time / ours ({host['note']}).", ""]  # fmt: skip
        for n, res in host["ns_per_frame"].items():
            for d in ("rfft", "irfft"):
                ref = res[f"torch.fft.{d}"]
                cells = [f"{k} {v:.0f} ns" + (f" ({ref / v:.2f}x)" if k.startswith(("ours", "base")) else "")
                         for k, v in res.items() if k.endswith(f" {d}") or k.endswith(f".{d}")]  # fmt: skip
                lines.append(f"- N={n} {d}: " + "; ".join(cells))
    return "\n".join(lines)


def first_line(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[0]


def count_rows(sizes: list[int], cpus: list[str], reps: int, plugin: Path, tmp: Path) -> list[dict]:
    """Counts and errors of every case on every CPU model, from one emulated run per model."""
    exe = build_driver(tmp / "engine_driver")
    cases = cases_for(sizes)
    per_cpu = {}
    for cpu in cpus:
        log(f"counting {len(cases)} cases on {cpu}")
        per_cpu[cpu] = run_driver(exe, cases, reps, cpu, plugin, tmp)
    rows = []
    for i, case in enumerate(cases):
        n, d = int(case.split(":")[0]), case.split(":")[1]
        rows.append({
            "n": n,
            "dir": "forward" if d == "f" else "inverse",
            "isa": per_cpu[cpus[0]][0][i],
            "count": {cpu: per_cpu[cpu][2][i] for cpu in cpus},
            "rel_error": {cpu: rel_error(n, d, per_cpu[cpu][1][i]) for cpu in cpus},
        })  # fmt: skip
    return rows


def baseline_source(rev: str, dest: Path) -> Path:
    """The engine's files as committed at rev (those that existed then)."""
    dest.mkdir()
    for f in (*ENGINE_SOURCES, *ENGINE_HEADERS):
        got = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:{SRC.relative_to(REPO)}/{f}"], capture_output=True
        )
        if got.returncode == 0:
            (dest / f).write_bytes(got.stdout)
    return dest


def baseline_rows(src: Path, sizes: list[int], cpu: str, reps: int, plugin: Path, tmp: Path) -> list[dict]:
    exe = build_driver(tmp / "baseline_driver", src=src)
    _, outs, counts = run_driver(exe, cases_for(sizes, inverse=False), reps, cpu, plugin, tmp)
    return [
        {"n": n, "count": c, "rel_error": rel_error(n, "f", o)}
        for n, c, o in zip(sizes, counts, outs, strict=True)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "engine.json"))
    ap.add_argument("--sizes", default="256,400,512,1024,2048")
    ap.add_argument("--cpus", default="cortex-a76,cortex-a72")
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--baseline", default=None, help="git revision whose engine is counted too (forward)")
    ap.add_argument("--host-seconds", type=float, default=2.0, help="per size (0: skip the host timing)")
    ap.add_argument("--host-frames", type=int, default=64)
    args = ap.parse_args()
    sizes, cpus = [int(s) for s in args.sizes.split(",")], args.cpus.split(",")
    sys.path.insert(0, str(HERE))
    from measure import build_plugin  # the same counting plugin as the STFT bench

    plugin = build_plugin()
    doc: dict = {
        "schema": "armstft.engine-bench/1",
        "command": "python bench/instructions/engine.py " + " ".join(sys.argv[1:]),
        "compiler": first_line([CROSS_CC, "--version"]),
        "flags": CROSS_FLAGS,
        "qemu": first_line(["qemu-aarch64", "--version"]),
        "reps": args.reps,
        "tolerance": TOLERANCE,
        "cpus": cpus,
        "anchors": {"source": ANCHORS_SOURCE, "forward": ANCHORS},
        "goals_forward": GOALS,
    }
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        doc["rows"] = count_rows(sizes, cpus, args.reps, plugin, tmp)
        old = baseline_source(args.baseline, tmp / "baseline") if args.baseline else None
        if old is not None:
            rows = baseline_rows(old, sizes, cpus[0], args.reps, plugin, tmp)
            doc["baseline"] = {"revision": args.baseline, "cpu": cpus[0], "rows": rows}
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")  # counts kept even if timing fails
        if args.host_seconds > 0:
            doc["host"] = host_timing(sizes, args.host_seconds, args.host_frames, tmp, old)
            Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(table(doc))
    rows = doc["rows"] + doc.get("baseline", {}).get("rows", [])
    bad = [r for r in rows if not all(e <= TOLERANCE for e in _errors(r))]
    if bad:
        sys.exit(f"engine: error: outputs off numpy float64 by more than {TOLERANCE}: {bad}")


def _errors(row: dict) -> list[float]:
    e = row["rel_error"]
    return list(e.values()) if isinstance(e, dict) else [e]


if __name__ == "__main__":
    main()
