#!/usr/bin/env bash
# The project's tests, as CI runs them (.ci/run calls exactly this):
#   1. lint (ruff), 2. host unit tests + Yocto layer checks (oelint-adv, kas schema, recipe parser),
#   3. the HIL suite on the emulated aarch64 board through labgrid, plus the fault tests (scripts/hil.sh:
#      builds/updates the board image first), 4. real-board plumbing against the emulated board: direct
#      SSH (paramiko) and the loopback labgrid farm (coordinator + exporter + RemotePlace).
# The real-bitbake check needs a bitbake checkout: set ARMSTFT_BITBAKE_CHECKOUT (see docs/yocto.md).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(bash "$repo/scripts/bootstrap.sh")
export ARMSTFT_VENV=$venv
cd "$repo"
step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
step "lint"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
step "host unit tests and layer checks"
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/unit tests/layer "$@"
step "HIL suite on the emulated board, fault tests"
bash scripts/hil.sh
step "direct SSH and labgrid farm against the emulated board"
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/boards
step "done"
