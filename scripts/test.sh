#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: core, every plugin, cross-package tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
