#!/usr/bin/env bash
# On the GPU machine, from the repository root, with .whl/ carried (bench/device/fetch_wheels.sh made it):
# the CUDA tests of olivine-lora and bench/gpu_lora.py, their logs and the package versions in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-checks}
mkdir -p "$OUT"
if [ -d .whl ]; then  # without it, this interpreter must already have olivine and olivine-lora installed
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 OLIVINE_TONE_DATA=$PWD/examples/phi3-emotion/data
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, transformers, peft, bitsandbytes, olivine, olivine_lora
for m in (torch, transformers, peft, bitsandbytes, olivine, olivine_lora): print(m.__name__, m.__version__)
print('cuda', torch.version.cuda)" > "$OUT/versions.txt" 2>&1
python3 -m pytest -p no:cacheprovider -m gpu -v plugins/olivine-lora/tests 2>&1 | tee "$OUT/gpu-tests.log"
tests=${PIPESTATUS[0]}
python3 bench/gpu_lora.py "$@" 2>&1 | tee "$OUT/gpu-bench.log"
bench=${PIPESTATUS[0]}
echo "gpu tests exit $tests, gpu bench exit $bench" | tee "$OUT/summary.txt"
[ "$tests" = 0 ] && [ "$bench" = 0 ]
