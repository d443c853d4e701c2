#!/usr/bin/env bash
# The main job on this host (no board needed): export the default bundle from the committed weights,
# verify it, and benchmark it. Results go to results/host/<UTC timestamp>/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ARMSTFT_VENV:-$(bash "$repo/scripts/bootstrap.sh")}
out="$repo/results/host/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
cd "$repo"
"$venv/bin/armstft" info >"$out/info.json"
"$venv/bin/armstft" export --weights models/default-weights.pt --out "$out/bundle" >"$out/export.json"
"$venv/bin/armstft" verify "$out/bundle" >"$out/verify.json"
"$venv/bin/armstft" bench "$out/bundle" --out "$out/bench.json" ${ARMSTFT_BENCH_ARGS:---quick} >/dev/null
echo "results: $out" >&2
