#!/usr/bin/env bash
# The README's main command. Until the emulated board lands, the main job runs on this host:
# export the default bundle, verify it, benchmark it (scripts/host-job.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/host-job.sh" "$@"
