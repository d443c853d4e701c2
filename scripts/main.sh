#!/usr/bin/env bash
# The README's main command: prepare the host (scripts/bootstrap.sh), then the main job (harness/run.py):
# build the emulated aarch64 board image, boot it through labgrid, run the HIL suite on it (info, verify,
# corrupted-bundle check, bench) and write results/<board>/<UTC timestamp>/ with report.md + latency.png.
# Arguments go to `python -m harness.run`, e.g. --bench-args="--seconds 2 --threads 1,2", --skip-build,
# --env harness/envs/<board>.yaml.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ARMSTFT_VENV:-$(bash "$repo/scripts/bootstrap.sh")}
cd "$repo"
exec "$venv/bin/python" -m harness.run "$@"
