#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: core, every plugin, cross-package tests.
# In parallel (pytest-xdist), one worker per core, each file whole on one worker (module and session
# fixtures stay as in a serial run; conftest.py starts the slow files first). OLIVINE_TEST_WORKERS=0 runs
# serially. One thread per process: two workers each driving a multi-threaded torch would oversubscribe
# the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec .venv/bin/python -m pytest -n "${OLIVINE_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder "$@"
