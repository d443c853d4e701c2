#!/usr/bin/env bash
# Cross-build the armstft wheel for the aarch64 board (CPython 3.11) on the x86 host, native engine included.
#
#   scripts/build-aarch64-wheel.sh [OUT_DIR]      (default OUT_DIR: dist/aarch64)
#
# Why not plain `setup.py bdist_wheel` with CC set: setuptools takes the extension suffix, platform tag and
# pyconfig.h from the *running* (x86) interpreter.  So: (1) compile armstft/faststft/src/*.c with Debian's
# aarch64-linux-gnu-gcc against Debian's arm64 pyconfig.h, (2) build the pure-Python wheel of the package,
# (3) put the .so in and re-tag it cp311-cp311-manylinux_X_Y_aarch64, X.Y being the newest glibc symbol
# version the .so really uses (checked with readelf, not assumed).  A Yocto recipe does not need this: it
# runs setup.py with the target's CC and sysconfig.  Prints the wheel's path as its last line.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
out=${1:-$repo/dist/aarch64}
cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
python=${PYTHON:-python3}
pyver=3.11
log() { printf '[build-aarch64-wheel] %s\n' "$*" >&2; }

command -v "$cc" >/dev/null || { echo "build-aarch64-wheel: error: $cc: expected the cross compiler (apt: gcc-aarch64-linux-gnu), got nothing" >&2; exit 2; }

# --- 1. arm64 pyconfig.h, from Debian's libpython3.11-dev:arm64 (a download), via a private apt state ---------
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

# --- 2. the extension -----------------------------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
so=_native.cpython-${pyver/./}-aarch64-linux-gnu.so
src=$repo/armstft/faststft/src
log "compiling $so with $cc"
"$cc" -O3 -std=gnu11 -fno-math-errno -fPIC -shared -DNDEBUG -I"$src" \
    -I"$inc/usr/include" -I"$inc/usr/include/python$pyver" -I"$pyinc" \
    "$src/fft.c" "$src/fft_mixed.c" "$src/stft.c" "$src/module.c" -lm -o "$work/$so"
glibc=$(readelf -V "$work/$so" | grep -o 'GLIBC_[0-9]*\.[0-9]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n | tail -1)
plat=manylinux_${glibc/./_}_aarch64
readelf -h "$work/$so" | grep -q AArch64 || { echo "build-aarch64-wheel: error: $so: expected an AArch64 ELF" >&2; exit 1; }

# --- 3. pure wheel + .so, re-tagged ---------------------------------------------------------------------------
log "building the pure-Python wheel"
ARMSTFT_NO_NATIVE=1 "$python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/pure" "$repo" >&2
pure=$(ls "$work"/pure/armstft-*-py3-none-any.whl)
"$python" -m wheel unpack -d "$work/unpacked" "$pure" >&2
root=$(ls -d "$work"/unpacked/armstft-*)
cp "$work/$so" "$root/armstft/faststft/$so"
wheelmeta=$(ls "$root"/armstft-*.dist-info/WHEEL)
# rewrite the header block (an appended line after the trailing blank line would not count as a header)
{ grep -v -e '^Tag: ' -e '^Root-Is-Purelib: ' -e '^$' "$wheelmeta"
  echo "Root-Is-Purelib: false"
  echo "Tag: cp${pyver/./}-cp${pyver/./}-$plat"; } >"$work/WHEEL"
mv "$work/WHEEL" "$wheelmeta"
mkdir -p "$out"
"$python" -m wheel pack -d "$out" "$root" >&2
ls -t "$out"/armstft-*-cp${pyver/./}-cp${pyver/./}-"$plat".whl | head -1
