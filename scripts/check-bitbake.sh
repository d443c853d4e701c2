#!/usr/bin/env bash
# Check meta-armstft with a real bitbake, offline: parse every recipe (`bitbake -p`, no warning may
# come from this repository), print and assert what `bitbake -e` resolves for the image and for
# python3-torch (tune flags, BLAS, package list, distro features, build dependencies, build-path
# hygiene), resolve the whole task graph (`bitbake -g armstft-image`: the board software in it, no
# graphics or audio stack), run the first task of every recipe in both images' graphs
# (`bitbake -k --runall=recipe_qa`: oe-core's recipe QA, which runs before do_fetch), walk both images'
# runtime package closure with bitbake's parsed RDEPENDS/RRECOMMENDS (scripts/image_closure.py: the
# production image holds none of the standard-library parts issue #19 removed), and run oe-core's
# yocto-check-layer on meta-armstft.
#
# Usage: scripts/check-bitbake.sh CHECKOUT [MACHINE [OVERLAY]]
#   CHECKOUT  a directory holding bitbake/, openembedded-core/ and meta-openembedded/ (and
#             meta-raspberrypi/ for the raspberrypi* machines) at the revisions kas.yml pins.
#             This script never fetches or clones anything.
#   MACHINE   default qemuarm64.
#   OVERLAY   a kas overlay whose local_conf_header goes into local.conf, e.g. kas/prebuilt-torch.yml.
#             The graph must then hold the -bin recipes instead of the source builds; python3-torch's
#             -e checks and yocto-check-layer (neither depends on the overlay) are not repeated.
# Without CHECKOUT (or ARMSTFT_BITBAKE_CHECKOUT) it prints why it skips and exits 0.
#
# Sources: local.conf names ${ARMSTFT_CACHE}/bitbake/premirror as a file:// PREMIRROR (nothing else is
# reachable: BB_NO_NETWORK). Put there what can be had offline: bitbake git mirror tarballs
# (git2_<host>.<path>.tar.gz, the BB_GENERATE_MIRROR_TARBALLS format) and downloaded files under their
# own names. ARMSTFT_BITBAKE_UNPACK="RECIPE..." then runs do_fetch and do_unpack for those recipes
# (bitbake checks SRCREV on its branch and tag, sha256sum, and that S exists).
# ARMSTFT_BITBAKE_CHECK_LAYER=0 leaves out yocto-check-layer (its own two cold parses, the longest step).
#
# bitbake refuses to run as root: as root, set ARMSTFT_BITBAKE_USER (e.g. bb) and the script re-runs
# itself as that user. Build directory: ARMSTFT_BITBAKE_BUILDDIR, default
# ${ARMSTFT_CACHE:-~/.cache/armstft}/bitbake/build-MACHINE[-OVERLAY] of the user running bitbake.
# Writes the logs and summary.txt there; exit status 0 only if every check passed.
set -euo pipefail

checkout=${1:-${ARMSTFT_BITBAKE_CHECKOUT:-}}
machine=${2:-${ARMSTFT_BITBAKE_MACHINE:-qemuarm64}}
overlay=${3:-${ARMSTFT_BITBAKE_OVERLAY:-}}
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
if [[ -n $overlay ]]; then
    [[ $overlay == /* ]] || overlay=$repo/$overlay
    [[ -f $overlay ]] || { echo "check-bitbake: error: $overlay: expected a kas overlay file, got none" >&2; exit 2; }
fi

python3 -c 'import locale; locale.setlocale(locale.LC_CTYPE, ("en_US", "UTF-8"))' 2>/dev/null || {
    echo "check-bitbake: error: locale: expected en_US.UTF-8 (bitbake needs it), got none;" \
        "enable it in /etc/locale.gen and run locale-gen" >&2
    exit 2
}

if [[ $(id -u) -eq 0 ]]; then
    user=${ARMSTFT_BITBAKE_USER:-}
    [[ -n $user ]] || { echo "check-bitbake: error: bitbake refuses root; set ARMSTFT_BITBAKE_USER" >&2; exit 2; }
    exec runuser -u "$user" -- env ARMSTFT_BITBAKE_BUILDDIR="${ARMSTFT_BITBAKE_BUILDDIR:-}" \
        ARMSTFT_CACHE="${ARMSTFT_CACHE:-}" ARMSTFT_BITBAKE_UNPACK="${ARMSTFT_BITBAKE_UNPACK:-}" \
        ARMSTFT_BITBAKE_CHECK_LAYER="${ARMSTFT_BITBAKE_CHECK_LAYER:-1}" bash "${BASH_SOURCE[0]}" "$checkout" "$machine" "$overlay"
fi

# shellcheck source=lib/paths.sh
source "$repo/scripts/lib/paths.sh"
cache=$ARMSTFT_CACHE
suffix=${overlay:+-$(basename "$overlay" .yml)}
build=${ARMSTFT_BITBAKE_BUILDDIR:-$cache/bitbake/build-$machine$suffix}
mkdir -p "$build/conf"

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

write_local_conf() {  # write_local_conf FILE DISTRO: the offline settings every build directory here uses
    cat >"$1" <<EOF
# written by scripts/check-bitbake.sh
MACHINE = "$machine"
DISTRO = "$2"
PACKAGE_CLASSES = "package_ipk"
BB_NO_NETWORK = "1"
CONNECTIVITY_CHECK_URIS = ""
DL_DIR = "$cache/bitbake/downloads"
SSTATE_DIR = "$cache/bitbake/sstate-$machine"
PREMIRRORS:prepend = "git://.*/.* file://$cache/bitbake/premirror/ https?://.*/.* file://$cache/bitbake/premirror/ "
BB_HASHSERVE = ""
BB_SIGNATURE_HANDLER = "OEBasicHash"
LICENSE_FLAGS_ACCEPTED = "synaptics-killswitch"
CONF_VERSION = "2"
EOF
}
write_local_conf "$build/conf/local.conf" armstft
if [[ -n $overlay ]]; then
    {
        echo "# local_conf_header of $overlay"
        python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["local_conf_header"].values()))' \
            "$overlay"
    } >>"$build/conf/local.conf"
fi

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
[[ -n $overlay ]] && note "overlay: $overlay"

wait_for_server_exit() {
    # Start the next step only when the previous bitbake server has shut down and released
    # bitbake.lock, so steps never overlap and each one finds the parse cache written before it.
    local dir=${1:-$build} i
    for ((i = 0; i < 600; i++)); do
        [[ -e $dir/bitbake.lock ]] || return 0
        flock -n "$dir/bitbake.lock" true 2>/dev/null && return 0
        sleep 1
    done
}

timed() {  # timed NAME CMD... : run, log to NAME.log, record seconds (including the server's exit)
    local name=$1 start end rc=0
    shift
    start=$(date +%s)
    "$@" >"$build/$name.log" 2>&1 || rc=$?
    wait_for_server_exit "$PWD"
    end=$(date +%s)
    note "$name: exit $rc in $((end - start)) s"
    return $rc
}

getvars() {  # getvars LOG VAR... : print VAR="..." lines as bitbake -e resolved them
    local logf=$1 v
    shift
    for v in "$@"; do
        grep -E "^(export )?$v=" "$logf" | sed 's/^/  /' | tee -a "$summary" || true
    done
}
envval() { sed -n "s/^\(export \)\{0,1\}$2=\"\(.*\)\"\$/\2/p" "$1" | head -1; }  # envval LOG VAR

# --- 1. parse ------------------------------------------------------------------------------------
# In a new build directory one early step parses everything a second time (another parse-cache key;
# the cause is not found). Reading the configuration alone first costs seconds and once spared that
# second parse (qemuarm64), once not (raspberrypi4-64): docs/yocto.md has the figures.
timed config bitbake -e || true
timed parse bitbake -p || fail=1
warnings=$(grep -c '^WARNING:' "$build/parse.log" || true)
ours=$(grep '^WARNING:' "$build/parse.log" | grep -cE "$repo/|armstft" || true)
note "parse warnings: $warnings total, $ours from this repository"
grep '^WARNING:' "$build/parse.log" | sed 's/^/  /' | tee -a "$summary" || true
grep -E '^(ERROR|NOTE): (Parsing|Summary)' "$build/parse.log" | tee -a "$summary" || true
((ours == 0)) || fail=1

# --- 2. resolved variables -------------------------------------------------------------------------
if timed env-image bitbake -e armstft-image; then
    log=$build/env-image.log
    getvars "$log" MACHINE DISTRO DEFAULTTUNE TUNE_FEATURES TUNE_CCARGS IMAGE_INSTALL IMAGE_FEATURES \
        IMAGE_FSTYPES WKS_FILE DISTRO_FEATURES
    for p in python3-torch python3-torchaudio python3-armstft armstft-model; do
        envval "$log" IMAGE_INSTALL | grep -qw -- "$p" || { note "  MISSING from IMAGE_INSTALL: $p"; fail=1; }
    done
    envval "$log" IMAGE_FEATURES | grep -qE '(debug-tweaks|empty-root-password|allow-empty-password)' &&
        { note "  production image has debug/empty-password features"; fail=1; }
    # headless: oe-core appends its default features to DISTRO_FEATURES unless the distro opts out
    for f in x11 wayland opengl vulkan pulseaudio alsa bluetooth wifi 3g nfc; do
        envval "$log" DISTRO_FEATURES | grep -qw -- "$f" && { note "  DISTRO_FEATURES has $f"; fail=1; }
    done
else
    fail=1
fi
if [[ -z $overlay ]]; then
    if timed env-torch bitbake -e python3-torch; then
        log=$build/env-torch.log
        getvars "$log" BLAS TORCH_TUNE_CCARGS OECMAKE_CXX_FLAGS OECMAKE_C_FLAGS PACKAGECONFIG USE_XNNPACK \
            USE_PYTORCH_QNNPACK USE_KLEIDIAI USE_MKLDNN USE_NNPACK PYTORCH_BLAS_USE_CBLAS_DOT SRC_URI DEPENDS \
            TORCH_RECORDED_CXX_COMPILER TORCH_RECORDED_CXX_FLAGS
        [[ $(envval "$log" BLAS) == OpenBLAS ]] || { note "  BLAS is not OpenBLAS"; fail=1; }
        tune=$(envval "$log" TUNE_CCARGS | xargs)
        envval "$log" OECMAKE_CXX_FLAGS | grep -qF -- "$tune" ||
            { note "  tune flags ($tune) not in OECMAKE_CXX_FLAGS"; fail=1; }
        # P1: the rest of 2.9.1's [build-system] table, natively
        for p in python3-charset-normalizer-native python3-cmake-native python3-ninja-native python3-requests-native \
            python3-six-native; do
            envval "$log" DEPENDS | grep -qw -- "$p" || { note "  DEPENDS lacks $p"; fail=1; }
        done
        # P3: GCC 15's incompatible-pointer-types error kept a warning for XNNPACK's C kernels
        envval "$log" OECMAKE_C_FLAGS | grep -qF -- -Wno-error=incompatible-pointer-types ||
            { note "  OECMAKE_C_FLAGS lacks -Wno-error=incompatible-pointer-types"; fail=1; }
        # P4: __FILE__ is remapped away from S, and what torch.__config__ records names no build path
        s_dir=$(envval "$log" S)
        tmp_dir=$(envval "$log" TMPDIR)
        envval "$log" OECMAKE_CXX_FLAGS | grep -qF -- "-ffile-prefix-map=$s_dir=" ||
            { note "  OECMAKE_CXX_FLAGS does not remap S ($s_dir)"; fail=1; }
        for v in TORCH_RECORDED_CXX_COMPILER TORCH_RECORDED_CXX_FLAGS; do
            val=$(envval "$log" "$v")
            [[ -n $val && $val != *"$tmp_dir"* ]] || { note "  $v is empty or names TMPDIR: '$val'"; fail=1; }
        done
        for patch in 0001-pyproject.toml 0002-macros.h.in; do
            envval "$log" SRC_URI | grep -qF -- "file://$patch" || { note "  SRC_URI lacks $patch*.patch"; fail=1; }
        done
        # issue #19: the NumPy check runs at configure time; -g1 instead of -g
        envval "$log" SRC_URI | grep -qF -- "file://armstft-require-numpy.cmake" ||
            { note "  SRC_URI lacks armstft-require-numpy.cmake"; fail=1; }
        for v in OECMAKE_C_FLAGS OECMAKE_CXX_FLAGS; do
            envval "$log" "$v" | grep -qw -- -g1 || { note "  $v lacks -g1"; fail=1; }
        done
    else
        fail=1
    fi
    if timed env-openblas bitbake -e openblas; then
        log=$build/env-openblas.log
        getvars "$log" OPENBLAS_TARGET PACKAGECONFIG FILES:openblas-dev
        # the real library (libopenblas_<core>p-r<PV>.so) belongs in openblas, only the link-time .so in -dev
        envval "$log" FILES:openblas-dev | grep -qE '(^| )/usr/lib/lib\*\.so( |$)' &&
            { note "  FILES:openblas-dev takes every lib*.so (the real library too)"; fail=1; }
        envval "$log" FILES:openblas | grep -qF -- "/usr/lib/libopenblas_*-r" ||
            { note "  FILES:openblas lacks the real library libopenblas_*-r<PV>.so"; fail=1; }
    else
        fail=1
    fi
fi

# --- 3. task graph ---------------------------------------------------------------------------------
if timed graph bitbake -g armstft-image; then
    tasks=$(grep -c '^"[^"]*" \[label=' "$build/task-depends.dot" || true)
    recipes=$(wc -l <"$build/pn-buildlist")
    note "task graph: $tasks tasks, $recipes recipes (task-depends.dot, pn-buildlist)"
    if [[ -n $overlay ]]; then
        must=(python3-torch-bin python3-torchaudio-bin python3-armstft armstft-model)
        never=(python3-torch python3-torchaudio openblas sleef)
    else
        must=(python3-torch python3-torchaudio python3-armstft armstft-model openblas sleef sleef-native
            libeigen protobuf-native python3-cmake-native python3-ninja-native)
        never=(python3-torch-bin python3-torchaudio-bin)
    fi
    # minimal and headless: no graphics or audio stack is built for the target
    never+=(libx11 libxcb libxext cairo pango wayland mesa python3-pygobject gobject-introspection pulseaudio
        alsa-lib bluez5)
    for p in "${must[@]}"; do
        grep -qx -- "$p" "$build/pn-buildlist" || { note "  MISSING from the graph: $p"; fail=1; }
    done
    for p in "${never[@]}"; do
        grep -qx -- "$p" "$build/pn-buildlist" && { note "  in the graph, must not be: $p"; fail=1; }
    done
    natives=$(grep -xE '(libx11|libxcb|cairo|wayland|mesa)-native' "$build/pn-buildlist" | xargs || true)
    note "  graphics/audio recipes in the graph: target none; native tools: ${natives:-none}"
else
    fail=1
fi

# --- 4. the first task of every recipe: do_recipe_qa -----------------------------------------------
# insane.bbclass runs it before do_fetch (recipe naming, SRC_URI without unstable GitHub/GitLab
# archives or ${PN}, and the metadata checks WARN_QA/ERROR_QA name). It needs no source, so it is the
# one task every recipe of both images can run offline; -k runs it for all of them, not just up to the
# first failure.
timed recipe-qa bitbake -k --runall=recipe_qa armstft-image armstft-image-dev || fail=1
grep -E '^NOTE: Tasks Summary|^ERROR: [^ ]+ do_recipe_qa|^ERROR: .*QA Issue|^(WARNING|ERROR): .*(armstft|torch)' \
    "$build/recipe-qa.log" | sed 's/^/  /' | tee -a "$summary" || true
qa_failed=$(grep -cE '^ERROR: Task .*do_recipe_qa.* failed' "$build/recipe-qa.log" || true)
note "  do_recipe_qa failures: $qa_failed"

# --- 4b. the images' runtime closure (issue #19: minimal image) ---------------------------------------
# scripts/image_closure.py walks RDEPENDS/RRECOMMENDS from PACKAGE_INSTALL with bitbake's own parsed
# values (python3's packages are made from its manifest at parse time): the production image must
# hold no python3-modules, tkinter, idle, pydoc, ensurepip, sqlite3, curses or venv. The development
# image's closure is printed only (pip and the ptest bring more of the standard library, by design).
timed closure-image python3 "$repo/scripts/image_closure.py" armstft-image --json "$build/closure-image.json" ||
    fail=1
sed 's/^/  /' "$build/closure-image.log" | tee -a "$summary"
timed closure-image-dev python3 "$repo/scripts/image_closure.py" armstft-image-dev --forbid '' \
    --json "$build/closure-image-dev.json" || fail=1
sed 's/^/  /' "$build/closure-image-dev.log" | tee -a "$summary"

# --- 5. fetch and unpack what the premirror holds -----------------------------------------------------
# do_patch cannot run here: it needs quilt-native (PATCHTOOL), whose source tarball is not on this machine.
unpack=${ARMSTFT_BITBAKE_UNPACK:-}
if [[ -n $unpack ]]; then
    # shellcheck disable=SC2086 # a list of recipe names
    timed unpack bitbake -k -c unpack $unpack || fail=1
    grep -E '^NOTE: Tasks Summary|^ERROR: ' "$build/unpack.log" | sed 's/^/  /' | tee -a "$summary" || true
    for r in $unpack; do
        s_dir=$(bitbake -e "$r" 2>/dev/null | sed -n 's/^S="\(.*\)"$/\1/p')
        if [[ -n $s_dir && -d $s_dir ]]; then
            note "  $r: S=${s_dir#"$build"/} ($(find "$s_dir" -type f | wc -l) files)"
        else
            note "  $r: S missing after do_unpack: '$s_dir'"
            fail=1
        fi
    done
    wait_for_server_exit "$PWD"
else
    note "do_fetch/do_unpack: skipped (set ARMSTFT_BITBAKE_UNPACK to recipes whose sources are in $cache/bitbake/premirror)"
fi

# --- 6. yocto-check-layer --------------------------------------------------------------------------
# In a build directory of its own: the tool adds the layer and its dependencies to a bblayers.conf
# holding only oe-core, and compares world signatures with and without it (oe-core's default distro).
if [[ ${ARMSTFT_BITBAKE_CHECK_LAYER:-1} == 0 ]]; then
    note "yocto-check-layer: skipped (ARMSTFT_BITBAKE_CHECK_LAYER=0)"
elif [[ -z $overlay ]]; then
    ycl=$build/check-layer
    mkdir -p "$ycl/conf"
    {
        echo '# written by scripts/check-bitbake.sh'
        echo 'BBPATH = "${TOPDIR}"'
        echo 'BBFILES ?= ""'
        echo "BBLAYERS = \"$checkout/openembedded-core/meta\""
    } >"$ycl/conf/bblayers.conf"
    write_local_conf "$ycl/conf/local.conf" nodistro  # oe-core's own default distro
    deps=("$checkout/meta-openembedded/meta-oe" "$checkout/meta-openembedded/meta-python")
    extra=()  # the BSP layer is no dependency of meta-armstft, but the machine must exist in every run
    [[ $machine == raspberrypi* ]] && extra=(--additional-layers "$checkout/meta-raspberrypi")
    (cd "$ycl" && export BBPATH=$ycl BUILDDIR=$ycl &&
        timed check-layer yocto-check-layer --no-auto-dependency "${extra[@]}" --dependency "${deps[@]}" -- \
            "$repo/meta-armstft") || fail=1
    grep -E 'INFO: (test_[a-z_]+|Ran|OK|FAILED)|\.\.\. (ok|FAIL|ERROR|skipped)|^(INFO|ERROR): meta-armstft' \
        "$build/check-layer.log" | sed 's/^/  /' | tee -a "$summary" || true
fi

if ((fail)); then
    note "RESULT: FAIL (logs in $build)"
    exit 1
fi
note "RESULT: PASS (logs in $build)"
