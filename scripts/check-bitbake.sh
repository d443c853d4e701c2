#!/usr/bin/env bash
# Check meta-armstft with a real bitbake, offline: parse every recipe (`bitbake -p`, no warning may
# come from this repository), print what `bitbake -e` resolves for the image and for python3-torch
# (tune flags, BLAS, package list), and resolve the whole task graph (`bitbake -g armstft-image`).
#
# Usage: scripts/check-bitbake.sh CHECKOUT [MACHINE]
#   CHECKOUT  a directory holding bitbake/, openembedded-core/ and meta-openembedded/ (and
#             meta-raspberrypi/ for the raspberrypi* machines) at the revisions kas.yml pins.
#             This script never fetches or clones anything.
#   MACHINE   default qemuarm64.
# Without CHECKOUT (or ARMSTFT_BITBAKE_CHECKOUT) it prints why it skips and exits 0.
#
# bitbake refuses to run as root: as root, set ARMSTFT_BITBAKE_USER (e.g. bb) and the script re-runs
# itself as that user. Build directory: ARMSTFT_BITBAKE_BUILDDIR, default
# ${ARMSTFT_CACHE:-~/.cache/armstft}/bitbake/build-MACHINE of the user running bitbake.
# Writes the logs and summary.txt there; exit status 0 only if every check passed.
set -euo pipefail

checkout=${1:-${ARMSTFT_BITBAKE_CHECKOUT:-}}
machine=${2:-${ARMSTFT_BITBAKE_MACHINE:-qemuarm64}}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -z $checkout ]]; then
    echo "check-bitbake: SKIP: no bitbake checkout given (pass its path or set ARMSTFT_BITBAKE_CHECKOUT)"
    exit 0
fi
checkout=$(cd "$checkout" && pwd)
for d in bitbake/bin openembedded-core/meta meta-openembedded/meta-oe meta-openembedded/meta-python; do
    [[ -d $checkout/$d ]] || { echo "check-bitbake: error: $checkout: $d: expected a directory, got none" >&2; exit 2; }
done
case $machine in
    raspberrypi*) [[ -d $checkout/meta-raspberrypi ]] ||
        { echo "check-bitbake: error: $checkout: meta-raspberrypi: needed for $machine, got none" >&2; exit 2; } ;;
esac

python3 -c 'import locale; locale.setlocale(locale.LC_CTYPE, ("en_US", "UTF-8"))' 2>/dev/null || {
    echo "check-bitbake: error: locale: expected en_US.UTF-8 (bitbake needs it), got none;" \
        "enable it in /etc/locale.gen and run locale-gen" >&2
    exit 2
}

if [[ $(id -u) -eq 0 ]]; then
    user=${ARMSTFT_BITBAKE_USER:-}
    [[ -n $user ]] || { echo "check-bitbake: error: bitbake refuses root; set ARMSTFT_BITBAKE_USER" >&2; exit 2; }
    exec runuser -u "$user" -- env ARMSTFT_BITBAKE_BUILDDIR="${ARMSTFT_BITBAKE_BUILDDIR:-}" \
        ARMSTFT_CACHE="${ARMSTFT_CACHE:-}" bash "${BASH_SOURCE[0]}" "$checkout" "$machine"
fi

cache=${ARMSTFT_CACHE:-$HOME/.cache/armstft}
build=${ARMSTFT_BITBAKE_BUILDDIR:-$cache/bitbake/build-$machine}
mkdir -p "$build/conf"
log() { printf '[check-bitbake] %s\n' "$*" >&2; }

# --- configuration: the same settings as kas.yml + kas/offline.yml (tests/layer checks they agree) ---
layers=("$checkout/openembedded-core/meta" "$checkout/meta-openembedded/meta-oe"
        "$checkout/meta-openembedded/meta-python" "$repo/meta-armstft")
[[ $machine == raspberrypi* ]] && layers+=("$checkout/meta-raspberrypi")
{
    echo '# written by scripts/check-bitbake.sh'
    echo 'BBPATH = "${TOPDIR}"'
    echo 'BBFILES ?= ""'
    echo "BBLAYERS = \"${layers[*]}\""
} >"$build/conf/bblayers.conf"
cat >"$build/conf/local.conf" <<EOF
# written by scripts/check-bitbake.sh
MACHINE = "$machine"
DISTRO = "armstft"
PACKAGE_CLASSES = "package_ipk"
BB_NO_NETWORK = "1"
CONNECTIVITY_CHECK_URIS = ""
DL_DIR = "$cache/bitbake/downloads"
SSTATE_DIR = "$cache/bitbake/sstate-$machine"
BB_HASHSERVE = ""
BB_SIGNATURE_HANDLER = "OEBasicHash"
LICENSE_FLAGS_ACCEPTED = "synaptics-killswitch"
CONF_VERSION = "2"
EOF

export PATH="$checkout/bitbake/bin:$checkout/openembedded-core/scripts:$PATH"
export PYTHONPATH="$checkout/bitbake/lib${PYTHONPATH:+:$PYTHONPATH}"
export BBPATH="$build" BUILDDIR="$build" LANG=C.UTF-8 LC_ALL=C.UTF-8
cd "$build"
summary=$build/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }
fail=0

note "checkout: $checkout"
for r in bitbake openembedded-core meta-openembedded meta-raspberrypi; do
    [[ -d $checkout/$r/.git ]] && note "  $r $(git -C "$checkout/$r" rev-parse HEAD)"
done
note "machine: $machine"

wait_for_server_exit() {
    # Start the next step only when the previous bitbake server has shut down and released
    # bitbake.lock, so steps never overlap and each one finds the parse cache written before it.
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -e $build/bitbake.lock ]] || return 0
        flock -n "$build/bitbake.lock" true 2>/dev/null && return 0
        sleep 1
    done
}

timed() {  # timed NAME CMD... : run, log to NAME.log, record seconds (including the server's exit)
    local name=$1 start end rc=0
    shift
    start=$(date +%s)
    "$@" >"$build/$name.log" 2>&1 || rc=$?
    wait_for_server_exit
    end=$(date +%s)
    note "$name: exit $rc in $((end - start)) s"
    return $rc
}

# --- 1. parse ------------------------------------------------------------------------------------
timed parse bitbake -p || fail=1
warnings=$(grep -c '^WARNING:' "$build/parse.log" || true)
ours=$(grep '^WARNING:' "$build/parse.log" | grep -cE "$repo/|armstft" || true)
note "parse warnings: $warnings total, $ours from this repository"
grep '^WARNING:' "$build/parse.log" | sed 's/^/  /' | tee -a "$summary" || true
grep -E '^(ERROR|NOTE): (Parsing|Summary)' "$build/parse.log" | tee -a "$summary" || true
((ours == 0)) || fail=1

# --- 2. resolved variables -------------------------------------------------------------------------
getvars() {  # getvars LOG VAR... : print VAR="..." lines as bitbake -e resolved them
    local logf=$1 v
    shift
    for v in "$@"; do
        grep -E "^(export )?$v=" "$logf" | sed 's/^/  /' | tee -a "$summary" || true
    done
}
if timed env-image bitbake -e armstft-image; then
    getvars "$build/env-image.log" MACHINE DISTRO DEFAULTTUNE TUNE_FEATURES TUNE_CCARGS IMAGE_INSTALL \
        IMAGE_FEATURES IMAGE_FSTYPES WKS_FILE
    for p in python3-torch python3-torchaudio python3-armstft armstft-model; do
        grep -E '^IMAGE_INSTALL=' "$build/env-image.log" | grep -qw "$p" ||
            { note "  MISSING from IMAGE_INSTALL: $p"; fail=1; }
    done
    grep -qE '^IMAGE_FEATURES=.*(debug-tweaks|empty-root-password|allow-empty-password)' \
        "$build/env-image.log" && { note "  production image has debug/empty-password features"; fail=1; }
else
    fail=1
fi
if timed env-torch bitbake -e python3-torch; then
    getvars "$build/env-torch.log" BLAS TORCH_TUNE_CCARGS OECMAKE_CXX_FLAGS PACKAGECONFIG USE_XNNPACK \
        USE_PYTORCH_QNNPACK USE_KLEIDIAI USE_MKLDNN USE_NNPACK PYTORCH_BLAS_USE_CBLAS_DOT SRC_URI
    grep -qE '^export BLAS="OpenBLAS"' "$build/env-torch.log" || { note "  BLAS is not OpenBLAS"; fail=1; }
    tune=$(sed -n 's/^TUNE_CCARGS="\(.*\)"/\1/p' "$build/env-torch.log" | xargs)
    grep -E '^OECMAKE_CXX_FLAGS=' "$build/env-torch.log" | grep -qF -- "$tune" ||
        { note "  tune flags ($tune) not in OECMAKE_CXX_FLAGS"; fail=1; }
else
    fail=1
fi
timed env-openblas bitbake -e openblas && getvars "$build/env-openblas.log" OPENBLAS_TARGET PACKAGECONFIG

# --- 3. task graph ---------------------------------------------------------------------------------
if timed graph bitbake -g armstft-image; then
    tasks=$(grep -c '^"[^"]*" \[label=' "$build/task-depends.dot" || true)
    recipes=$(wc -l <"$build/pn-buildlist")
    note "task graph: $tasks tasks, $recipes recipes (task-depends.dot, pn-buildlist)"
    for p in python3-torch python3-torchaudio python3-armstft armstft-model openblas sleef sleef-native \
        libeigen protobuf-native; do
        grep -qx "$p" "$build/pn-buildlist" || { note "  MISSING from the graph: $p"; fail=1; }
    done
else
    fail=1
fi

if ((fail)); then
    note "RESULT: FAIL (logs in $build)"
    exit 1
fi
note "RESULT: PASS (logs in $build)"
