#!/usr/bin/env bash
# The project's tests, as CI runs them (.ci/run calls this): lint, host unit tests, layer checks.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(bash "$repo/scripts/bootstrap.sh")
cd "$repo"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/python" -m pytest -p no:cacheprovider tests/unit tests/layer "$@"
