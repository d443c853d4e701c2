#!/usr/bin/env bash
# HIL on the emulated board, for .ci/run: the main job with plain log output (the image build is keyed on its
# inputs under $ARMSTFT_BUILD/board), then the fault tests (QEMU killed, no prompt, SSH port closed,
# hung board command). ARMSTFT_HIL_FAULTS=0 skips the fault tests. Arguments go to `python -m harness.run`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ARMSTFT_VENV:-$(bash "$repo/scripts/bootstrap.sh")}
cd "$repo"
"$venv/bin/python" -m harness.run --plain "$@"
if [[ ${ARMSTFT_HIL_FAULTS:-1} != 0 ]]; then
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rP tests/faults
fi
