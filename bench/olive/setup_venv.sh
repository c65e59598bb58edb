#!/usr/bin/env bash
# Creates bench/.olive-venv: Microsoft Olive 0.13 in its own environment, for bench/head_to_head.py.
# Olive imports `datasets` and `requests` without declaring them, so they are installed here too.
# torch comes first and alone so that nothing later can swap it for another build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${OLIVE_VENV:-$here/../.olive-venv}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$here/../../scripts/install_cpu_torch.sh" "$venv/bin/python"
"$venv/bin/pip" install --quiet -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("olive-ai", "torch", "transformers", "peft", "onnxruntime", "onnxruntime-genai", "datasets"):
    print(f"{name:20} {md.version(name)}")
PY
echo "Olive venv ready: $venv"
