# shellcheck shell=bash
# Sourced, not run: THE private apt state for Debian 12 arm64 packages under $1 (a downloads folder), so
# `apt-get "${APT_ARM64[@]}" update|download ...` fetches arm64 .debs without touching the host's apt.
# Sets the array APT_ARM64. Used by scripts/build-aarch64-wheel.sh, bench/instructions/make_sysroot.sh and,
# through bash, by the board image builder (harness/image/apt.py): one statement of sources and options.
# The dpkg status is empty ("nothing installed"), so a simulated install yields the full dependency closure.
apt_arm64_init() {
    local apt=$1
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc/preferences.d,state}
    [[ -e $apt/state/status ]] || : >"$apt/state/status"
    printf 'deb [arch=arm64 signed-by=%s] %s main\n' \
        "$keyring" "http://deb.debian.org/debian bookworm" \
        "$keyring" "http://deb.debian.org/debian bookworm-updates" \
        "$keyring" "http://deb.debian.org/debian-security bookworm-security" >"$apt/etc/sources.list.new"
    cmp -s "$apt/etc/sources.list.new" "$apt/etc/sources.list" || mv "$apt/etc/sources.list.new" "$apt/etc/sources.list"
    rm -f "$apt/etc/sources.list.new"
    APT_ARM64=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 -oAPT::Install-Recommends=false
        -oAPT::Install-Suggests=false -oAPT::Sandbox::User=root -oDir::State="$apt/state"
        -oDir::State::Lists="$apt/lists" -oDir::State::status="$apt/state/status" -oDir::Cache="$apt/cache"
        -oDir::Cache::archives="$apt/cache/archives" -oDir::Etc::SourceList="$apt/etc/sources.list"
        -oDir::Etc::SourceParts=/dev/null -oDir::Etc::Preferences="$apt/etc/preferences"
        -oDir::Etc::PreferencesParts="$apt/etc/preferences.d" -oDebug::NoLocking=1)
}
