#!/usr/bin/env bash
# Run meta-armstft's oeqa runtime module with oe-core's own runner (`oe-test runtime`, simpleremote
# target) against the emulated board over SSH: boot the board as board.json says, run the modules, stop
# the board. What `bitbake armstft-image-dev -c testimage` runs on a built image, without building one.
#
# Usage: scripts/oeqa-board.sh CHECKOUT [MODULE...]     (default modules: ping ssh armstft)
#   CHECKOUT  the bitbake checkout (openembedded-core/ inside), as for scripts/check-bitbake.sh
# The board must be built first (python -m harness.image.build). Writes oe-test's log and JSON results
# to $ARMSTFT_BUILD/oeqa-board/<UTC time>/ and prints its path; exit status is oe-test's.
#
# The emulated board is Debian with the same armstft, bundle and torch wheels as the images, not a
# Yocto image, so the package manifest given to oe-test names those in the images' package names.
# oe-test's simpleremote target runs plain `ssh -l root HOST` (UserKnownHostsFile=/dev/null,
# StrictHostKeyChecking=no); an ssh wrapper first on PATH adds the board's key and pins its host key
# (ssh takes the first value of an option, so these win).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
checkout=${1:?usage: scripts/oeqa-board.sh CHECKOUT [MODULE...]}
shift
modules=("$@")
((${#modules[@]})) || modules=(ping ssh armstft)
oe_test=$checkout/openembedded-core/scripts/oe-test
[[ -x $oe_test ]] || { echo "oeqa-board: error: $oe_test: expected oe-core's oe-test, got none" >&2; exit 2; }
board_json=$ARMSTFT_BUILD/board/out/board.json
[[ -f $board_json ]] || { echo "oeqa-board: error: $board_json: expected the built board (python -m harness.image.build), got none" >&2; exit 2; }
venv=${ARMSTFT_VENV:-$(bash "$repo/scripts/bootstrap.sh")}

out=$ARMSTFT_BUILD/oeqa-board/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/bin"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# the one QEMU definition (harness/envs/qemu-aarch64.yaml), as the farm boots it
mapfile -t qemu < <("$venv/bin/python" -c 'import sys; from pathlib import Path
from harness.farm.board import qemu_argv
print("\n".join(qemu_argv(Path(sys.argv[1]), int(sys.argv[2]))))' "$(dirname "$board_json")" "$port")
read -r key bundle known < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["paths"]["ssh_key"], d["board_paths"]["bundle"], d["ssh"]["known_hosts_line_template"].replace("{port}", sys.argv[2]).replace(" ", "\x1f"))' \
    "$board_json" "$port")
printf '%s\n' "${known//$'\x1f'/ }" >"$out/known_hosts"

log() { printf '[oeqa-board] %s\n' "$*" >&2; }
log "booting the emulated board (ssh on 127.0.0.1:$port, console: $out/console.log)"
"${qemu[@]}" </dev/null >"$out/console.log" 2>&1 &
qemu_pid=$!
trap 'kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true' EXIT

for tool in ssh scp; do
    cat >"$out/bin/$tool" <<EOF
#!/bin/sh
exec /usr/bin/$tool -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$out/known_hosts" -o StrictHostKeyChecking=yes "\$@"
EOF
    chmod +x "$out/bin/$tool"
done
start=$(date +%s)
until "$out/bin/ssh" -o ConnectTimeout=5 -p "$port" root@127.0.0.1 true 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || { log "QEMU exited; see $out/console.log"; exit 1; }
    (($(date +%s) - start < 300)) || { log "no SSH after 300 s; see $out/console.log"; exit 1; }
    sleep 3
done
log "ssh up after $(($(date +%s) - start)) s"

# what the images install, under their package names (see above)
printf '%s\n' "openssh-sshd aarch64 board" "python3-core aarch64 board" "python3-torch aarch64 2.9.1" \
    "python3-torchaudio aarch64 2.9.1" "python3-armstft aarch64 0.1.0" "armstft-model all 0.1.0" >"$out/manifest"
python3 -c 'import json, sys
json.dump({"MACHINE": "qemuarm64", "MLPREFIX": "", "ARMSTFT_BUNDLE_DIR": sys.argv[2], "ARMSTFT_VERIFY_TIMEOUT": "1800"},
          open(sys.argv[1], "w"), indent=1)' "$out/testdata.json" "$bundle"

rc=0
(cd "$out" && PATH=$out/bin:$checkout/bitbake/bin:$PATH PYTHONPATH=$checkout/bitbake/lib "$oe_test" runtime --target-type simpleremote --target-ip "127.0.0.1:$port" \
    --server-ip 127.0.0.1 --packages-manifest "$out/manifest" --test-data-file "$out/testdata.json" \
    --output-log "$out/oe-test.log" --json-result-dir "$out" --run-tests "${modules[@]}" -- \
    "$checkout/openembedded-core/meta/lib/oeqa/runtime/cases" "$repo/meta-armstft/lib/oeqa/runtime/cases") || rc=$?
log "oe-test exit $rc; log: $out/oe-test.log"
echo "$out"
exit $rc
