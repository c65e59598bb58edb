#!/usr/bin/env bash
# Run the whole suite against the newest releases of every dependency (torch stays the CPU build that
# install_cpu_torch.sh pins), in a fresh .venv-latest. When it passes, that version set becomes the
# verified one: requirements/verified.txt is rewritten, ready to commit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-latest
rm -rf "$VENV"
OLIVINE_VENV=$VENV OLIVINE_LOCK="" ./scripts/setup.sh
export HF_HUB_OFFLINE=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# In parallel, as scripts/test.sh runs it (see there).
"$VENV/bin/python" -m pytest -n "${OLIVINE_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder "$@"
"$VENV/bin/python" scripts/write_verified_set.py requirements/verified.txt
git --no-pager diff --stat -- requirements/verified.txt || true
