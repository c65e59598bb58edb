#!/usr/bin/env bash
# The flagship example: make the tiny Phi-3, fine-tune it on the tone data, merge, export int4 ONNX.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
EXAMPLE=examples/phi3-emotion
export HF_HUB_OFFLINE=1
.venv/bin/python -m olivine.testing make-tiny-phi3 --output "$EXAMPLE/models/tiny-phi3" --data "$EXAMPLE/data"
.venv/bin/olivine run --config "$EXAMPLE/workflow.json"
if [ -f "$EXAMPLE/predict.py" ]; then
  .venv/bin/python "$EXAMPLE/predict.py" "$EXAMPLE/out/model"
fi
