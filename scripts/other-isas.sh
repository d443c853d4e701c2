#!/usr/bin/env bash
# The numeric tests again on the code paths CPUs other than this one take. CI runs on one machine; users'
# x86-64 machines have other ISAs (AVX2 without AVX-512; older ones without AVX2), and every library we
# rely on picks its kernels from the CPU it finds. Each profile below forces all of them down at once:
#   ATen                ATEN_CPU_CAPABILITY      (its vectorized kernels: default | avx2 | avx512)
#   oneDNN (fp32 convs) ONEDNN_MAX_CPU_ISA
#   MKL (BLAS, FFT)     MKL_ENABLE_INSTRUCTIONS
#   NumPy               NPY_DISABLE_CPU_FEATURES (names a CPU lacks are ignored)
#   armstft's engine    ARMSTFT_ISA=base         (SSE2 instead of AVX2 + FMA; armstft/faststft/src/fft.c)
# Profiles: avx2 (an AVX2 x86-64 without AVX-512, like the EPYC that found issue 16) and default (the
# x86-64 baseline). Under each: the tests that touch numerics (export, quantize, golden, verify, bench,
# pt2, the float64 reference, the fast STFT and its acceleration), then the committed bundle verified.
# The quantized engines are covered inside those tests (tests/unit/armstft/test_verify.py runs the committed
# int8 variants under every engine this torch has). The plain-C engine (no SIMD at all) is a separate build,
# tested on any host by tests/unit/faststft/test_faststft_engine.py::test_plain_c_matches_numpy.
#
# Usage: scripts/other-isas.sh [PROFILE ...] (default: avx2 default); needs ARMSTFT_VENV or the cache's venv.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
python=${ARMSTFT_VENV:-$ARMSTFT_CACHE/venv}/bin/python
cd "$repo"

if [[ $(uname -m) != x86_64 ]]; then
    echo "other-isas: SKIP: the profiles are x86-64 ones; this host is $(uname -m)"
    exit 0
fi

# test_faststft_neon.py is left out: it cross-builds for aarch64 and runs under qemu, no x86 path in it
numeric_tests=(
    tests/unit/armstft/test_export.py tests/unit/armstft/test_quantize.py tests/unit/armstft/test_golden.py
    tests/unit/armstft/test_verify.py tests/unit/armstft/test_info_bench.py tests/unit/armstft/test_pt2.py
    tests/unit/armstft/test_reference.py
)
for f in tests/unit/faststft/test_faststft_*.py; do
    [[ $f == */test_faststft_neon.py ]] || numeric_tests+=("$f")
done

# profile NAME -> the array `assignments` (VAR=value words for env)
profile_env() {
    case $1 in
    avx2) assignments=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
        "NPY_DISABLE_CPU_FEATURES=X86_V4 AVX512_ICL AVX512_SPR") ;;
    default) assignments=(ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2
        "NPY_DISABLE_CPU_FEATURES=X86_V3 X86_V4 AVX512_ICL AVX512_SPR" ARMSTFT_ISA=base) ;;
    *) echo "other-isas: error: profile: expected avx2 or default, got $1" >&2; exit 2 ;;
    esac
}

profiles=("$@")
((${#profiles[@]})) || profiles=(avx2 default)
for p in "${profiles[@]}"; do
    profile_env "$p"
    printf '\n--- profile %s: %s\n' "$p" "${assignments[*]}"
    # the forced paths must really be the ones taken: ask each library what it runs
    env "${assignments[@]}" "$python" - "$p" <<'EOF'
import sys

import torch

import armstft.faststft as fast

profile = sys.argv[1]
got = {"aten": torch.backends.cpu.get_cpu_capability(), "armstft": fast.simd()}
want = {"avx2": {"aten": "AVX2"}, "default": {"aten": "DEFAULT", "armstft": "sse2"}}[profile]
wrong = {k: got[k] for k in want if got[k] != want[k]}
print(f"other-isas: {profile}: ATen {got['aten']}, armstft engine {got['armstft']}")
if wrong:
    sys.exit(f"other-isas: error: profile {profile}: expected {want}, got {got}")
EOF
    env "${assignments[@]}" "$python" -m pytest -p no:cacheprovider -q "${numeric_tests[@]}"
    env "${assignments[@]}" "$python" -m armstft verify models/default >/dev/null
    echo "other-isas: $p: models/default verified"
done
