"""The FFT engine itself (armstft/faststft/src), forward and inverse, against numpy float64 on every path.

Why separate from the STFT tests: those reach the engine through torch on one instruction set; here its
C API is called directly (ctypes on a host build, bench/instructions/engine_driver.c under qemu-aarch64) so
every vector path is exercised on the sizes it covers: SSE2 and AVX2 + FMA on this host, plain C
(-DARMSTFT_NO_SIMD), and NEON cross-compiled.  Tolerance: max |error| <= 1e-5 of the peak, NaN fails.
"""

from __future__ import annotations

import importlib.util
import platform
import shutil
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "instructions" / "engine.py"
_spec = importlib.util.spec_from_file_location("armstft_engine_bench", BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TOL = bench.TOLERANCE
POW2 = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
LANE_MIXED = [80, 96, 160, 200, 240, 320, 400, 480, 640, 800, 1000, 1200, 1600, 6000]  # n/2 = 4 * 2^a 3^b 5^c
FALLBACK = [20, 30, 100, 882, 1100]  # n/2 not a multiple of 4 lanes, or a factor 7..31: fft_mixed.c
SIZES = POW2 + LANE_MIXED + FALLBACK
NO_PLAN = [8, 15, 74, 401]  # too small, odd, factor 37
ISA_AUTO, ISA_BASE, ISA_AVX2 = 0, 1, 2


def lane_engine_covers(n: int, lanes: int) -> bool:
    """engine_core.h's rule: n/2 = lanes * M, M >= 2 lanes, M with no prime factor above 5."""
    m = n // 2
    if n % 2 or m % lanes or m // lanes < 2 * lanes:
        return False
    M = m // lanes
    for p in (2, 3, 5):
        while M % p == 0:
            M //= p
    return M == 1


def rel(got: np.ndarray, ref: np.ndarray) -> float:
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    return err if np.isfinite(got).all() else float("nan")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    return bench.HostEngine.build(tmp_path_factory.mktemp("eng") / "engine.so")


@pytest.fixture(scope="module")
def host_scalar(tmp_path_factory: pytest.TempPathFactory):
    plain_c = ("-DARMSTFT_NO_SIMD", "-O1")  # -O1: the struct-of-floats vectors compile slowly at -O3
    return bench.HostEngine.build(tmp_path_factory.mktemp("eng") / "engine.so", extra=plain_c)


def has_avx2(host) -> bool:
    return host.lib.armstft_simd_name().decode() == "avx2"


def check_plan(plan, rng: np.random.Generator, frames: int = 3) -> None:
    """Forward (random window and scale) and inverse (three normalisations) against numpy float64."""
    n = plan.n
    x = rng.standard_normal((frames, n)).astype(np.float32)
    win = rng.random(n).astype(np.float32)
    scale = float(rng.uniform(0.5, 2.0))
    got = plan.rfft(x, plan.split_window(win, scale))
    ref = scale * np.fft.rfft(x.astype(np.float64) * win, axis=-1)
    err = rel(got[:, 0::2] + 1j * got[:, 1::2], ref)
    assert err <= TOL, f"n={n} {plan.isa} forward: {err:.3g}"
    spec = rng.standard_normal((frames, n + 2)).astype(np.float32)  # DC and Nyquist imaginary parts nonzero
    keep = spec.copy()
    for s in (1.0 / n, 1.0, 1.0 / np.sqrt(n)):
        out = plan.irfft(spec, s)
        ref = s * n * np.fft.irfft(spec[:, 0::2].astype(np.float64) + 1j * spec[:, 1::2], n, axis=-1)
        err = rel(out, ref)
        assert err <= TOL, f"n={n} {plan.isa} inverse scale {s:.3g}: {err:.3g}"
    assert np.array_equal(spec, keep), "the inverse wrote into its input"


@pytest.mark.parametrize("n", SIZES)
def test_baseline_vectors_match_numpy(host, n: int) -> None:
    plan = host.plan(n, ISA_BASE)
    assert plan is not None
    assert plan.isa == ("sse2" if lane_engine_covers(n, 4) else "sse2/mixed")
    assert lane_engine_covers(n, 4) == (n not in FALLBACK and n >= 64)
    check_plan(plan, np.random.default_rng(n))


@pytest.mark.parametrize("n", SIZES)
def test_avx2_matches_numpy(host, n: int) -> None:
    if not has_avx2(host):
        pytest.skip("this CPU lacks AVX2 + FMA (the SSE2 test covers the same sizes)")
    plan = host.plan(n, ISA_AVX2)
    assert plan is not None
    assert (plan.isa == "avx2") == lane_engine_covers(n, 8)
    check_plan(plan, np.random.default_rng(n + 1))


@pytest.mark.parametrize("n", SIZES)
def test_plain_c_matches_numpy(host_scalar, n: int) -> None:
    plan = host_scalar.plan(n, ISA_AUTO)
    assert plan is not None and plan.isa.startswith("scalar")
    check_plan(plan, np.random.default_rng(n + 2), frames=1)


FORCED_BASE = """
import json, sys
import numpy as np, torch
import armstft.faststft as fast
x = torch.from_numpy(np.random.default_rng(7).standard_normal((2, 16000)).astype(np.float32))
w = torch.hann_window(512)
got = fast.stft(x, 512, 256, window=w, return_complex=True).numpy()
padded = np.pad(x.double().numpy(), ((0, 0), (256, 256)), "reflect")
frames = np.lib.stride_tricks.sliding_window_view(padded, 512, axis=-1)[:, ::256]
ref = np.fft.rfft(frames * w.double().numpy(), axis=-1).transpose(0, 2, 1)
err = np.abs(got - ref).max() / np.abs(ref).max() if np.isfinite(got).all() else float("nan")
print(json.dumps({"simd": fast.simd(), "err": float(err)}))
"""


@pytest.mark.skipif(
    platform.machine() != "x86_64", reason="ARMSTFT_ISA=base picks SSE2 over AVX2: x86-64 only"
)
@pytest.mark.parametrize("isa", ["base", "sse2"])
def test_the_operator_library_runs_the_base_path_when_told(isa: str) -> None:
    """ARMSTFT_ISA=base makes the operator library (not just the engine's test build) take the path an
    x86-64 without AVX2 takes, so CI runs every fast-STFT test on it (scripts/other-isas.sh)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "ARMSTFT_ISA": isa}
    proc = subprocess.run(
        [sys.executable, "-c", FORCED_BASE], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["simd"] == "sse2" and doc["err"] <= TOL, doc


def test_sizes_without_a_plan(host) -> None:
    for n in NO_PLAN:
        assert host.plan(n, ISA_AUTO) is None, n


def test_inverse_undoes_forward(host) -> None:
    """irfft(rfft(x w)) = x w: the two directions agree with each other, not only with numpy."""
    rng = np.random.default_rng(7)
    for n in (64, 400, 512, 1000):
        plan = host.plan(n, ISA_AUTO)
        x = rng.standard_normal((2, n)).astype(np.float32)
        w = np.hanning(n).astype(np.float32)
        back = plan.irfft(plan.rfft(x, plan.split_window(w)), 1.0 / n)
        assert rel(back, x * w) <= TOL


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which(bench.CROSS_CC) and shutil.which("qemu-aarch64")),
    reason=f"needs {bench.CROSS_CC} and qemu-aarch64 (apt: gcc-aarch64-linux-gnu, qemu-user)",
)
def test_neon_matches_numpy(tmp_path: Path) -> None:
    """The engine as the board runs it: NEON, cross-compiled, under qemu-aarch64, every size both ways."""
    exe = bench.build_driver(tmp_path / "engine_driver")
    cases = bench.cases_for(SIZES)
    isas, outs, _ = bench.run_driver(exe, cases, 2, "cortex-a72", None, tmp_path)
    for case, isa, arrs in zip(cases, isas, outs, strict=True):
        n, d = int(case.split(":")[0]), case.split(":")[1]
        assert isa == ("neon" if lane_engine_covers(n, 4) else "neon/mixed"), case
        err = bench.rel_error(n, d, arrs)
        assert err <= TOL, f"{case}: {err:.3g}"
