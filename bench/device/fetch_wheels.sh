#!/usr/bin/env bash
# Here, with the registries reachable: put in .whl/ everything the GPU machine lacks for the GPU checks.
# That machine has Python 3.12 with CUDA torch, transformers, peft, onnx and pytest but no internet, no
# pydantic, stevedore or bitsandbytes; olivine itself travels as wheels built from this checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl && mkdir .whl
PY=.venv/bin/python
version() { "$PY" -m pip show "$1" | sed -n 's/^Version: //p'; }
pins=(bitsandbytes=="$(version bitsandbytes)" pydantic=="$(version pydantic)"
      pydantic-core=="$(version pydantic-core)" annotated-types=="$(version annotated-types)"
      typing-inspection=="$(version typing-inspection)" stevedore=="$(version stevedore)"
      transformers=="$(version transformers)" peft=="$(version peft)")
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
  platforms+=(--platform "${tag}_x86_64")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl "${pins[@]}"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w .whl ./core ./plugins/olivine-lora
du -sh .whl && ls .whl
