#!/usr/bin/env bash
# A small aarch64 root tree for counting instructions when the board builder's rootfs is not there yet:
# Debian 12 arm64 python3.11 (+ the shared libraries it and torch load) and the PyPI aarch64 wheels of
# torch 2.9.1, torchaudio 2.9.1 (armstft's CLI imports it), numpy, scipy and torch's pure-Python
# imports.  Nothing is installed on the host: Debian packages come through a private apt state under the
# downloads cache, wheels through `pip download`.  The tree is a build product, keyed on this script, the apt
# helper and the numpy/scipy versions it follows: any change rebuilds it.
#   bench/instructions/make_sysroot.sh [ROOT]   (default $ARMSTFT_BUILD/bench/sysroot); prints ROOT
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/paths.sh
source "$here/../../scripts/lib/paths.sh"
dl=$ARMSTFT_DOWNLOADS
root=${1:-$ARMSTFT_BUILD/bench/sysroot}
python=${PYTHON:-python3}
numpy=$("$python" -c 'import numpy; print(numpy.__version__)')
scipy=$("$python" -c 'import scipy; print(scipy.__version__)')
key=$(cat "$here/make_sysroot.sh" "$here/../../scripts/lib/apt-arm64.sh" <(echo "numpy=$numpy scipy=$scipy") | sha256sum | cut -c1-16)
if [[ -x $root/usr/bin/python3.11 && $(cat "$root/.armstft-sysroot-key" 2>/dev/null) == "$key" ]]; then
    echo "$root"
    exit 0
fi
# shellcheck source=../../scripts/lib/apt-arm64.sh
source "$here/../../scripts/lib/apt-arm64.sh"
apt_arm64_init "$dl/apt-arm64"
opts=("${APT_ARM64[@]}")
mkdir -p "$dl/bench-sysroot-debs" "$dl/bench-sysroot-wheels"
apt-get "${opts[@]}" -qq update >&2
debs=(libc6 libpython3.11-minimal libpython3.11-stdlib python3.11-minimal libexpat1 zlib1g libffi8 libssl3
      libstdc++6 libgcc-s1 libgomp1 libbz2-1.0 liblzma5 libuuid1 libcrypt1 libtinfo6 libncursesw6 libsqlite3-0
      libnsl2 libtirpc3 libdb5.3 libreadline8 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2
      libkrb5support0 libkeyutils1)
(cd "$dl/bench-sysroot-debs" && apt-get "${opts[@]}" -qq download "${debs[@]}" >&2)
(cd "$dl/bench-sysroot-wheels" && "$python" -m pip download -q --no-deps --only-binary=:all: \
    --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp \
    torch==2.9.1 torchaudio==2.9.1 "numpy==$numpy" "scipy==$scipy" markupsafe filelock typing-extensions sympy mpmath networkx jinja2 fsspec >&2)
rm -rf "$root"
mkdir -p "$root/usr/lib/python3/dist-packages"
for d in "$dl"/bench-sysroot-debs/*.deb; do dpkg-deb -x "$d" "$root"; done
for w in "$dl"/bench-sysroot-wheels/*.whl; do "$python" -m zipfile -e "$w" "$root/usr/lib/python3/dist-packages/"; done
echo "$key" >"$root/.armstft-sysroot-key"
echo "$root"
