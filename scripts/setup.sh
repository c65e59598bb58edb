#!/usr/bin/env bash
# Create a venv with olivine core and every plugin in this repo installed editable (CPU-only torch).
# Versions come from the committed, verified set (requirements/verified.txt), so a new release upstream
# cannot change what the tests run on. OLIVINE_VENV picks the venv folder (default .venv); OLIVINE_LOCK=""
# installs the newest releases instead (scripts/test_latest.sh).
# Idempotent: skips the install when nothing it depends on changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${OLIVINE_VENV:-.venv}
LOCK=${OLIVINE_LOCK-requirements/verified.txt}
STAMP=$VENV/.olivine-setup-stamp
plugins=$(ls -d plugins/*/ 2>/dev/null | sed 's#/$##' | while read -r p; do [ -f "$p/pyproject.toml" ] && echo "$p"; done)
want=$(cat core/pyproject.toml $(for p in $plugins; do echo "$p/pyproject.toml"; done) scripts/setup.sh \
  scripts/install_cpu_torch.sh scripts/plugin_extras.py requirements/held-back.txt ${LOCK:+"$LOCK"} | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# Releases held back on purpose (each with its reason), for the verified set and the newest alike.
constraints=(-c requirements/held-back.txt)
verified=""
if [ -n "$LOCK" ]; then
  # The set was verified on one Python minor version; another one may lack some of its wheels.
  verified_on=$(sed -n 's/^# python: //p' "$LOCK")
  running=$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  if [ "$verified_on" = "$running" ]; then
    constraints+=(-c "$LOCK")
    verified=", verified versions"
  else
    echo "setup: $LOCK was verified on Python $verified_on, this is $running: installing the newest releases" >&2
  fi
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip
# torch's CPU build first, so that nothing later pulls the multi-GB CUDA build.
./scripts/install_cpu_torch.sh "$VENV/bin/python"
editable=(-e "core[hf,search]")
for p in $plugins; do
  # Every optional feature of each plugin (QLoRA's bitsandbytes, tensorboard, ModelBuilder's CPU runtime);
  # test-only and GPU-flavour extras aside (scripts/plugin_extras.py).
  extras=$("$VENV/bin/python" "scripts/plugin_extras.py" "$p/pyproject.toml")
  editable+=(-e "$p${extras:+[$extras]}")
done
$PIP install ${constraints[@]+"${constraints[@]}"} "${editable[@]}" pytest pytest-xdist ruff mypy
echo "$want" > "$STAMP"
echo "olivine installed in $VENV ($(echo $plugins | wc -w) plugins$verified)"
