# shellcheck shell=bash
# Sourced, not run: the project's cache roots for shell scripts (harness/paths.py is the same fact for Python;
# tests/unit/harness/test_paths.py holds them together).
#   ARMSTFT_CACHE      venv, downloads and, by default, build products   (default ~/.cache/armstft)
#   ARMSTFT_DOWNLOADS  reusable downloads: Debian packages, PyPI wheels   ($ARMSTFT_CACHE/downloads)
#   ARMSTFT_BUILD      build products: armstft wheel, board image, bench sysroot ($ARMSTFT_CACHE/build)
ARMSTFT_CACHE=${ARMSTFT_CACHE:-$HOME/.cache/armstft}
ARMSTFT_DOWNLOADS=$ARMSTFT_CACHE/downloads
ARMSTFT_BUILD=${ARMSTFT_BUILD:-$ARMSTFT_CACHE/build}
