"""The NEON build of the engine, cross-compiled and run under qemu-aarch64 (the host itself is x86).

Why here: the Python tests on the host only exercise the SSE2 path; this compiles the same C sources for
aarch64 with Debian's cross compiler and checks every supported size against a float64 DFT in the guest,
so a NEON-only bug cannot hide until the board.  Skips when the cross compiler or qemu-aarch64 is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "armstft" / "faststft" / "src"
CC, QEMU = "aarch64-linux-gnu-gcc", "qemu-aarch64"

CHECK_C = r"""
#include "fft.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    int sizes[] = {32, 64, 128, 256, 512, 1024, 2048, 16, 20, 30, 100, 400, 480, 882, 1000, 1200};
    int bad = 0;
    for (unsigned si = 0; si < sizeof(sizes) / sizeof(*sizes); si++) {
        int n = sizes[si];
        armstft_plan *p = armstft_plan_new(n);
        if (!p) { printf("%d noplan\n", n); bad = 1; continue; }
        float *x = malloc(4 * n), *w = malloc(4 * n), *we = malloc(2 * n + 16), *wo = malloc(2 * n + 16);
        float *out = malloc(4 * (n + 2)), *sc = malloc(4 * armstft_plan_scratch(p));
        srand(n);
        for (int i = 0; i < n; i++) {
            x[i] = (float)rand() / RAND_MAX - 0.5f;
            w[i] = 0.5f - 0.5f * cosf(6.2831853f * i / n);
        }
        armstft_split_window(n, w, n, 1.0f, we, wo);
        armstft_rfft_frame(p, x, we, wo, out, sc);
        double err = 0, ref = 0;
        for (int k = 0; k <= n / 2; k++) {
            double re = 0, im = 0;
            for (int t = 0; t < n; t++) {
                double a = -2 * M_PI * (double)k * t / n;
                re += x[t] * w[t] * cos(a);
                im += x[t] * w[t] * sin(a);
            }
            double e = hypot(re - out[2 * k], im - out[2 * k + 1]);
            if (e > err) err = e;
            if (hypot(re, im) > ref) ref = hypot(re, im);
        }
        printf("%d %s %.3g\n", n, armstft_simd_name(), err / ref);
        if (err / ref > 1e-6) bad = 1;
        armstft_plan_free(p);
    }
    return bad;
}
"""


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which(CC) and shutil.which(QEMU)), reason=f"needs {CC} and {QEMU} (apt)")
def test_neon_engine_matches_float64_dft(tmp_path: Path) -> None:
    (tmp_path / "check.c").write_text(CHECK_C)
    exe = tmp_path / "check"
    sources = [str(SRC / f) for f in ("fft.c", "fft_mixed.c")]
    cmd = [CC, "-O3", "-std=gnu11", "-static", f"-I{SRC}", str(tmp_path / "check.c"), *sources, "-lm", "-o"]
    subprocess.run([*cmd, str(exe)], check=True, capture_output=True, timeout=120)
    out = subprocess.run([QEMU, str(exe)], capture_output=True, text=True, timeout=120)
    lines = out.stdout.split("\n")
    assert out.returncode == 0, out.stdout
    assert all(" neon " in line for line in lines if line), out.stdout
    assert len([line for line in lines if line]) == 16


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which(CC) and shutil.which("dpkg-deb")), reason=f"needs {CC} and dpkg-deb (apt)"
)
def test_aarch64_wheel_carries_the_engine(tmp_path: Path) -> None:
    """scripts/build-aarch64-wheel.sh (what the board image installs): the aarch64 libraries, honest tag."""
    import sys
    import zipfile

    script = SRC.parents[2] / "scripts" / "build-aarch64-wheel.sh"
    env = {**os.environ, "PYTHON": sys.executable}
    out = subprocess.run(
        ["bash", str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = Path(out.stdout.strip().splitlines()[-1])
    assert wheel.name.startswith("armstft-") and "-cp311-cp311-manylinux_2_" in wheel.name
    assert wheel.name.endswith("_aarch64.whl")
    with zipfile.ZipFile(wheel) as z:
        so = sorted(n for n in z.namelist() if n.startswith("armstft/faststft/") and n.endswith(".so"))
        assert so == [
            "armstft/faststft/_fastpath.cpython-311-aarch64-linux-gnu.so",  # the CPython shim
            "armstft/faststft/libarmstft_ops.so",  # the operator library (no Python in it)
        ]
        for name in so:
            elf = z.read(name)
            assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 183, name  # EM_AARCH64
