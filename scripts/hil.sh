#!/usr/bin/env bash
# HIL on the emulated board, for .ci/run: the main job with plain log output (the image build is keyed on its
# inputs under $ARMSTFT_BUILD/board); then a user's bundle through the same suite — a third-party model
# from the zoo (Open-Unmix: stereo, torch.stft + torch.istft), bundled here by `armstft bundle` the way a
# user would, so a user bundle must pass too; then the fault tests (QEMU killed, no prompt, SSH port closed,
# hung board command). ARMSTFT_HIL_ZOO=0 skips the zoo run, ARMSTFT_HIL_FAULTS=0 the fault tests.
# Arguments go to the main job's `python -m harness.run`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ARMSTFT_VENV:-$(bash "$repo/scripts/bootstrap.sh")}
cd "$repo"
"$venv/bin/python" -m harness.run --plain "$@"
if [[ ${ARMSTFT_HIL_ZOO:-1} != 0 ]]; then
    zoo=$(mktemp -d "${TMPDIR:-/tmp}/armstft-zoo.XXXXXX")
    trap 'rm -rf "$zoo"' EXIT
    "$venv/bin/python" -m tests.unit.zoo.make open_unmix "$zoo" >"$zoo/bundle.json"
    "$venv/bin/python" -m harness.run --plain --skip-build --bundle "$zoo/bundle" --case-seconds 600
fi
if [[ ${ARMSTFT_HIL_FAULTS:-1} != 0 ]]; then
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rP tests/faults
fi
