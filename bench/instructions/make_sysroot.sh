#!/usr/bin/env bash
# A small aarch64 root tree for counting instructions when the board builder's rootfs is not there yet:
# Debian 12 arm64 python3.11 (+ the shared libraries it and torch load) and the PyPI aarch64 wheels of
# torch 2.9.1, torchaudio 2.9.1 (armstft's CLI imports it), numpy, scipy and torch's pure-Python
# imports.  Nothing is installed on the host: Debian packages come through a private apt state under the
# cache, wheels through `pip download`.
#   bench/instructions/make_sysroot.sh [ROOT]   (default $ARMSTFT_CACHE/fft/sysroot); prints ROOT
set -euo pipefail
cache=${ARMSTFT_CACHE:-$HOME/.cache/armstft}/fft
root=${1:-$cache/sysroot}
python=${PYTHON:-python3}
site=$root/usr/lib/python3/dist-packages
if [[ -x $root/usr/bin/python3.11 && -d $site/torch && -d $site/torchaudio && -d $site/scipy ]]; then
    echo "$root"
    exit 0
fi
# shellcheck source=../../scripts/lib/apt-arm64.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-arm64.sh"
apt_arm64_init "$cache/apt-arm64"
opts=("${APT_ARM64[@]}")
mkdir -p "$cache/sysroot-debs" "$cache/sysroot-wheels"
apt-get "${opts[@]}" -qq update >&2
debs=(libc6 libpython3.11-minimal libpython3.11-stdlib python3.11-minimal libexpat1 zlib1g libffi8 libssl3
      libstdc++6 libgcc-s1 libgomp1 libbz2-1.0 liblzma5 libuuid1 libcrypt1 libtinfo6 libncursesw6 libsqlite3-0
      libnsl2 libtirpc3 libdb5.3 libreadline8 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2
      libkrb5support0 libkeyutils1)
(cd "$cache/sysroot-debs" && apt-get "${opts[@]}" -qq download "${debs[@]}" >&2)
numpy=$("$python" -c 'import numpy; print(numpy.__version__)')
scipy=$("$python" -c 'import scipy; print(scipy.__version__)')
(cd "$cache/sysroot-wheels" && "$python" -m pip download -q --no-deps --only-binary=:all: \
    --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp \
    torch==2.9.1 torchaudio==2.9.1 "numpy==$numpy" "scipy==$scipy" markupsafe filelock typing-extensions sympy mpmath networkx jinja2 fsspec >&2)
rm -rf "$root"
mkdir -p "$root/usr/lib/python3/dist-packages"
for d in "$cache"/sysroot-debs/*.deb; do dpkg-deb -x "$d" "$root"; done
for w in "$cache"/sysroot-wheels/*.whl; do "$python" -m zipfile -e "$w" "$root/usr/lib/python3/dist-packages/"; done
echo "$root"
