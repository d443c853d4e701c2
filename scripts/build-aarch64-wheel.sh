#!/usr/bin/env bash
# Cross-build the armstft wheel for the aarch64 board on the x86 host, its native operator library included.
#
#   scripts/build-aarch64-wheel.sh [OUT_DIR]      (default OUT_DIR: dist/aarch64)
#
# The operator library (armstft/faststft/libarmstft_ops.so, a libtorch C++ extension without Python in it)
# and its CPython shim (_fastpath.cpython-311-aarch64-linux-gnu.so) are built against the *aarch64 torch
# 2.9.1 wheel*: its include/ and lib/ (unpacked once into the cache from `pip download --platform
# manylinux_2_28_aarch64`), with Debian's aarch64-linux-gnu-g++ (apt: g++-aarch64-linux-gnu) and, for the
# shim, Debian's arm64 Python headers (libpython3.11-dev:arm64 through a private apt state).  Why not
# `setup.py bdist_wheel` with CC set: setuptools takes the extension suffix, platform tag and pyconfig.h
# from the *running* (x86) interpreter.  Then (3) the pure-Python wheel of the package is built, the .so
# files put in and the wheel re-tagged cp311-cp311-manylinux_X_Y_aarch64, X.Y being the newest glibc symbol
# version the libraries really use (checked with readelf, not assumed).  A Yocto recipe does not need this
# script: setup.py builds the same libraries with the target's CXX against the sysroot's python3-torch
# (ARMSTFT_TORCH_DIR).
# Prints the wheel's path as its last line.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
out=${1:-$repo/dist/aarch64}
cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
cxx=${CROSS_CXX:-aarch64-linux-gnu-g++}
python=${PYTHON:-python3}
torch_version=2.9.1
log() { printf '[build-aarch64-wheel] %s\n' "$*" >&2; }
die() { printf 'build-aarch64-wheel: error: %s\n' "$*" >&2; exit 2; }

command -v "$cc" >/dev/null || die "$cc: expected the cross compiler (apt: gcc-aarch64-linux-gnu), got nothing"
command -v "$cxx" >/dev/null || die "$cxx: expected the cross compiler (apt: g++-aarch64-linux-gnu), got nothing"
launcher=()
command -v ccache >/dev/null && launcher=(ccache) && export CCACHE_DIR=${CCACHE_DIR:-$ARMSTFT_CACHE/ccache}

# --- 1. torch's aarch64 headers and libraries, from the PyPI wheel (a download) ------------------------------
torch_root=$ARMSTFT_DOWNLOADS/torch-aarch64-$torch_version
torch_dir=$torch_root/torch
if [[ ! -f $torch_dir/lib/libtorch_cpu.so || ! -f $torch_dir/include/torch/library.h ]]; then
    log "fetching the aarch64 torch $torch_version wheel (its include/ and lib/ are used)"
    mkdir -p "$ARMSTFT_DOWNLOADS/wheels-aarch64"
    "$python" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_aarch64 \
        --python-version 3.11 --implementation cp -d "$ARMSTFT_DOWNLOADS/wheels-aarch64" "torch==$torch_version" >&2
    whl=$(ls "$ARMSTFT_DOWNLOADS"/wheels-aarch64/torch-"$torch_version"-*aarch64*.whl | head -1)
    # unpacked aside and moved in whole: an interrupted run never leaves a half tree that looks complete
    rm -rf "$torch_root.partial" && mkdir -p "$torch_root.partial"
    (cd "$torch_root.partial" && "$python" - "$whl" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(".", [n for n in z.namelist() if n.startswith(("torch/include/", "torch/lib/"))])
EOF
    )
    rm -rf "$torch_root" && mv "$torch_root.partial" "$torch_root"
fi

# --- 2. arm64 pyconfig.h, from Debian's libpython3.11-dev:arm64 (a download), via a private apt state ---------
pyver=3.11
inc=$ARMSTFT_DOWNLOADS/arm64-python-headers
if [[ ! -f $inc/usr/include/aarch64-linux-gnu/python$pyver/pyconfig.h ]]; then
    apt=$ARMSTFT_DOWNLOADS/apt-arm64
    # shellcheck source=lib/apt-arm64.sh
    source "$repo/scripts/lib/apt-arm64.sh"
    apt_arm64_init "$apt"
    opts=("${APT_ARM64[@]}")
    log "fetching libpython$pyver-dev:arm64 (headers only are used)"
    apt-get "${opts[@]}" -qq update >&2
    (cd "$apt" && rm -f libpython"$pyver"-dev_*.deb && apt-get "${opts[@]}" -qq download "libpython$pyver-dev" >&2)
    # unpacked aside and moved in whole: an interrupted run never leaves a half tree that looks complete
    rm -rf "$inc.partial" && mkdir -p "$inc.partial"
    dpkg-deb -x "$apt"/libpython"$pyver"-dev_*_arm64.deb "$inc.partial"
    rm -rf "$inc" && mv "$inc.partial" "$inc"
fi
pyinc=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[[ -f /usr/include/python$pyver/Python.h ]] && pyinc=/usr/include/python$pyver

# --- 3. the operator library and its shim --------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$repo/armstft/faststft/src
so=libarmstft_ops.so
shim=_fastpath.cpython-${pyver/./}-aarch64-linux-gnu.so
# sources and flags: armstft/faststft/src/build.json, the list setup.py builds from too (one definition)
build_list() { "$python" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$src/build.json" "$1"; }
mapfile -t c_sources < <(build_list library_c)
mapfile -t cxx_sources < <(build_list library_cxx)
mapfile -t shim_sources < <(build_list shim_cxx)
mapfile -t cflags < <(build_list c_flags)
mapfile -t cxxflags < <(build_list cxx_flags)
[[ ${#c_sources[@]} -gt 0 && ${#cxx_sources[@]} -gt 0 && ${#cxxflags[@]} -gt 0 ]] || die "$src/build.json: expected sources and flags, got none"
includes=(-I"$src" -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
log "compiling $so and $shim with $cxx against $torch_dir"
objects=()
for c in "${c_sources[@]}"; do
    o=$work/${c//\//_}.o
    nice -n 10 "${launcher[@]}" "$cc" "${cflags[@]}" "${includes[@]}" -c "$src/$c" -o "$o"
    objects+=("$o")
done
for c in "${cxx_sources[@]}"; do
    o=$work/${c//\//_}.o
    nice -n 10 "${launcher[@]}" "$cxx" "${cxxflags[@]}" "${includes[@]}" -c "$src/$c" -o "$o"
    objects+=("$o")
done
shim_objects=()
for c in "${shim_sources[@]}"; do
    o=$work/${c//\//_}.o
    nice -n 10 "${launcher[@]}" "$cxx" "${cxxflags[@]}" "${includes[@]}" -I"$inc/usr/include" \
        -I"$inc/usr/include/python$pyver" -I"$pyinc" -c "$src/$c" -o "$o"
    shim_objects+=("$o")
done
"$cxx" -shared "${objects[@]}" -L"$torch_dir/lib" -Wl,--no-as-needed -lc10 -ltorch_cpu -ltorch -lm \
    -Wl,-soname,$so -Wl,-rpath,'$ORIGIN/../../torch/lib' -o "$work/$so"
"$cxx" -shared "${shim_objects[@]}" -L"$work" -L"$torch_dir/lib" -larmstft_ops -ltorch_python -ltorch -ltorch_cpu -lc10 \
    -Wl,-rpath,'$ORIGIN:$ORIGIN/../../torch/lib' -o "$work/$shim"
glibc=0.0
for lib in "$work/$so" "$work/$shim"; do
    readelf -h "$lib" | grep -q AArch64 || die "$lib: expected an AArch64 ELF"
    g=$(readelf -V "$lib" | grep -o 'GLIBC_[0-9]*\.[0-9]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n | tail -1)
    glibc=$(printf '%s\n%s\n' "$glibc" "$g" | sort -t. -k1,1n -k2,2n | tail -1)
done
glibcxx=$(readelf -V "$work/$so" "$work/$shim" | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -1)
plat=manylinux_${glibc/./_}_aarch64
log "the libraries need glibc $glibc and $glibcxx (the board's libstdc++6 must provide it)"

# --- 4. pure wheel + .so files, re-tagged ---------------------------------------------------------------------------
log "building the pure-Python wheel"
ARMSTFT_NO_NATIVE=1 "$python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/pure" "$repo" >&2
pure=$(ls "$work"/pure/armstft-*-py3-none-any.whl)
"$python" -m wheel unpack -d "$work/unpacked" "$pure" >&2
root=$(ls -d "$work"/unpacked/armstft-*)
cp "$work/$so" "$work/$shim" "$root/armstft/faststft/"
wheelmeta=$(ls "$root"/armstft-*.dist-info/WHEEL)
# rewrite the header block (an appended line after the trailing blank line would not count as a header)
{ grep -v -e '^Tag: ' -e '^Root-Is-Purelib: ' -e '^$' "$wheelmeta"
  echo "Root-Is-Purelib: false"
  echo "Tag: cp${pyver/./}-cp${pyver/./}-$plat"; } >"$work/WHEEL"
mv "$work/WHEEL" "$wheelmeta"
mkdir -p "$out"
"$python" -m wheel pack -d "$out" "$root" >&2
ls -t "$out"/armstft-*-cp${pyver/./}-cp${pyver/./}-"$plat".whl | head -1
