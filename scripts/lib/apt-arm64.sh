# shellcheck shell=bash
# Sourced, not run: a private apt state for Debian 12 arm64 packages under $1 (a cache folder), so
# `apt-get "${APT_ARM64[@]}" update|download ...` fetches arm64 .debs without touching the host's apt.
# Sets the array APT_ARM64. Used by scripts/build-aarch64-wheel.sh and bench/instructions/make_sysroot.sh.
apt_arm64_init() {
    local apt=$1
    mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc,state}
    touch "$apt/state/status"
    printf 'deb [arch=arm64] http://deb.debian.org/debian bookworm main\ndeb [arch=arm64] http://deb.debian.org/debian-security bookworm-security main\n' \
        >"$apt/etc/sources.list"
    APT_ARM64=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 -oDir::State="$apt/state"
        -oDir::State::Lists="$apt/lists" -oDir::State::status="$apt/state/status" -oDir::Cache="$apt/cache"
        -oDir::Etc::SourceList="$apt/etc/sources.list" -oDir::Etc::SourceParts=/dev/null -oDebug::NoLocking=1)
}
