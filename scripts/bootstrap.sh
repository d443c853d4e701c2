#!/usr/bin/env bash
# Prepare a fresh Debian 12 host (as root): Debian packages from scripts/deps/apt.txt and a Python venv
# with torch 2.9.1 + torchaudio 2.9.1 + armstft[harness,dev]. Idempotent and cached: the venv lives under
# $ARMSTFT_CACHE (default ~/.cache/armstft, outside any clone, so a fresh CI clone reuses it) and is rebuilt
# only when pyproject.toml or ARMSTFT_TORCH_INDEX changes (Debian packages are checked on every run, so a new
# apt.txt line never forces a venv rebuild). Prints the venv's path as its last line.
#
# ARMSTFT_TORCH_INDEX: a pip index for torch/torchaudio, e.g. https://download.pytorch.org/whl/cpu for
# PyTorch's CPU-only builds (a ~1.5 GB venv instead of ~7 GB: PyPI's x86-64 torch pulls the CUDA libraries).
# Unset (the default) means PyPI, the only index some machines (ours included) can reach.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
cache=$ARMSTFT_CACHE
mkdir -p "$cache"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------------
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^\s*$/d' "$repo"/scripts/deps/apt.txt | tr -d ' ')
missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- Python venv -----------------------------------------------------------------------------------
venv=$cache/venv
torch_index=${ARMSTFT_TORCH_INDEX:-}
stamp=$( (cat "$repo"/pyproject.toml; [[ -z $torch_index ]] || echo "torch index: $torch_index") | sha256sum | cut -c1-16)
if [[ ! -x $venv/bin/python || $(cat "$venv/.stamp" 2>/dev/null) != "$stamp" ]]; then
    log "creating venv $venv (torch 2.9.1 is a large download the first time)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv"/bin/pip install -q --upgrade pip setuptools wheel >&2
    # torch first and pinned: any other requirement that names torch must not pull a different build.
    "$venv"/bin/pip install -q ${torch_index:+--index-url "$torch_index"} torch==2.9.1 torchaudio==2.9.1 >&2
    # dependencies of the extras only; the package itself is (re)installed below from this clone
    "$venv"/bin/pip install -q "$repo[harness,dev]" >&2
    "$venv"/bin/pip uninstall -q -y armstft >&2
    echo "$stamp" >"$venv/.stamp"
fi
# The clone may be new (CI): point the venv at this clone, cheaply, every time.
"$venv"/bin/pip install -q --no-deps --no-build-isolation -e "$repo" >&2
echo "$venv"
