"""The flagship example (examples/phi3-emotion/workflow.json) with a Qwen 2 model: a copy of the workflow
where only ``model_path`` and the prompt template change (and max_steps, to keep the run short), run
through the `olivine` CLI: LoRA, merge and int4 export of that family, evaluated at every stage.

(A Llama chat template is 90 tokens long with the tiny models' tokenizer, which has no Llama special
tokens: above the example's max_seq_len of 64, so every example would be dropped.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "phi3-emotion"
# Qwen's chat format (the example's README shows the same edit).
PROMPT = "<|im_start|>user\n{phrase}<|im_end|>\n<|im_start|>assistant\n"
COMPLETION = "{tone}<|im_end|>"


def _workflow(model: Path, folder: Path) -> Path:
    shutil.copytree(EXAMPLE / "data", folder / "data")
    workflow = json.loads((EXAMPLE / "workflow.json").read_text())
    workflow["input_model"]["model_path"] = str(model)
    for data in workflow["data_configs"]:
        data["pre_process_data_config"].update(prompt_template=PROMPT, completion_template=COMPLETION)
    workflow["passes"]["lora"]["training_args"]["max_steps"] = 8  # a short run: the stages, not the accuracy
    (folder / "workflow.json").write_text(json.dumps(workflow, indent=2))
    return folder / "workflow.json"


@pytest.mark.slow
def test_the_flagship_workflow_runs_with_a_qwen2_model(tmp_path):
    from olivine.testing.tiny_families import tiny_model

    model = tiny_model("qwen2")
    assert json.loads((model / "config.json").read_text())["architectures"] == ["Qwen2ForCausalLM"]
    config = _workflow(model, tmp_path)

    done = subprocess.run([sys.executable, "-m", "olivine", "run", "--config", str(config), "--no-progress"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})

    assert done.returncode == 0, done.stderr[-3000:]
    stages = {stage["name"]: stage for stage in json.loads((tmp_path / "out" / "run.json").read_text())["stages"]}
    assert list(stages) == ["input_model", "lora", "merge", "builder"]
    assert [stages[name]["format"] for name in stages] == ["hf", "hf+adapter", "hf", "onnx-genai"]
    for stage in stages.values():
        assert 0 <= stage["metrics"]["accuracy"]["accuracy_score"] <= 1
    assert stages["lora"]["metrics"]["perplexity"]["perplexity"] < stages["input_model"]["metrics"]["perplexity"][
        "perplexity"]  # eight steps already help
    genai = json.loads((tmp_path / "out" / "model" / "genai_config.json").read_text())
    assert genai["model"]["type"] == "qwen2"
