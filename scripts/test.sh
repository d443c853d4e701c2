#!/usr/bin/env bash
# The project's tests, as CI runs them (.ci/run calls exactly this):
#   1. lint (ruff), 2. the emulated board built cold, 3. host unit tests + Yocto layer checks (oelint-adv, kas
#   schema, recipe parser; the board-contract tests check the image just built), 3b. the numeric tests again
#   with every library forced onto the code paths of other x86-64 CPUs (scripts/other-isas.sh), 4. the HIL suite on the
#   emulated board through labgrid, again with a zoo model's user bundle, plus the fault tests (scripts/hil.sh), 5. the same suite over plain SSH
#   (--armstft-ssh) and through the loopback labgrid farm (coordinator + exporter + RemotePlace) against one
#   emulated board, plus the exit paths (timeout, Ctrl-C, crashed suite) and host-key pinning.
# Downloads (Debian packages, wheels) and the venv are reused from $ARMSTFT_CACHE; every build product (the
# armstft wheel, the board image) is made from scratch in a throw-away ARMSTFT_BUILD folder, so a missing
# input fails here instead of on a new user's machine. ARMSTFT_BUILD set beforehand keeps its products.
# The real-bitbake check needs a bitbake checkout: set ARMSTFT_BITBAKE_CHECKOUT (see docs/yocto.md).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(bash "$repo/scripts/bootstrap.sh")
export ARMSTFT_VENV=$venv
if [[ -z ${ARMSTFT_BUILD:-} ]]; then
    ARMSTFT_BUILD=$(mktemp -d "${TMPDIR:-/tmp}/armstft-build.XXXXXX")
    trap 'rm -rf "$ARMSTFT_BUILD"' EXIT
fi
export ARMSTFT_BUILD
cd "$repo"
step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
step "lint"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
step "emulated board, built cold in $ARMSTFT_BUILD"
"$venv/bin/python" -m harness.image.build
step "host unit tests and layer checks"
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/unit tests/layer "$@"
step "numeric tests again on the paths other x86-64 CPUs take (AVX2 without AVX-512; the baseline)"
bash scripts/other-isas.sh
step "HIL suite on the emulated board (our bundle, then a zoo model bundled as a user would), fault tests"
bash scripts/hil.sh
step "SSH path, labgrid farm and exit paths against the emulated board"
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/boards
step "done"
