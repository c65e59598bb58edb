#!/usr/bin/env bash
# install_cpu_torch.sh PYTHON: install torch 2.13.0's CPU build into PYTHON's environment.
# On Linux, PyPI's torch is the multi-GB CUDA build, so torch comes from PyTorch's CPU index when it can
# be reached; elsewhere (an offline mirror or wheel folder that carries the CPU build) from pip's own
# configuration. TORCH_INDEX_URL picks another index (a CUDA one, a mirror).
set -euo pipefail
python=$1
index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
pip=("$python" -m pip --disable-pip-version-check -q install "torch==2.13.0")
if "$python" - "$index" <<'PY' 2>/dev/null; then
import sys
import urllib.request

urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=5)
PY
  "${pip[@]}" --index-url "$index"
else
  echo "torch: $index cannot be reached; installing torch==2.13.0 as pip is configured" >&2
  "${pip[@]}"
fi
"$python" -c "import importlib.metadata as m; print('torch', m.version('torch'), 'installed')"
