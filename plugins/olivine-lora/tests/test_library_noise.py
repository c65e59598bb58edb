"""A flagship-like run (LoRA with embed_tokens among its targets, the input model evaluated) shows the user none of
the libraries' output about their own internals; ``-v`` shows all of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# transformers' loading bar, peft's note that it saves the embedding layers, transformers' deprecation of the
# attribute peft reads: nothing a user of olivine can act on.
LIBRARY_OUTPUT = ("Loading weights", "save_embedding_layers", "is_gradient_checkpointing")


def flagship_like(folder, kit, tiny_model):
    lora = {"type": "LoRA", "train_data_config": "tone_train", "r": 4, "evaluator": "tones",
            "target_modules": ["qkv_proj", "embed_tokens"],
            "training_args": {"max_steps": 2, "per_device_train_batch_size": 2}}
    workflow = kit.write_workflow(folder, {"lora": lora}, tiny_model,
                                  [kit.tone_data_config(), kit.tone_data_config("tone_test", "test")])
    config = json.loads(workflow.read_text())
    config["evaluators"] = {"tones": {"metrics": [
        {"name": "accuracy", "type": "accuracy", "data_config": "tone_test", "sub_types": [{"name": "accuracy_score"}],
         "user_config": {"max_new_tokens": 2, "max_samples": 4}}]}}
    config["engine"]["evaluate_input_model"] = True
    workflow.write_text(json.dumps(config))
    return workflow


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("-v",)], ids=["default", "verbose"])
def test_library_output_only_with_verbose(tmp_path, kit, tiny_model, flags):
    workflow = flagship_like(tmp_path, kit, tiny_model)
    env = {k: v for k, v in kit.cli_env().items() if k not in ("PYTHONWARNINGS", "HF_HUB_DISABLE_PROGRESS_BARS")}
    env["OLIVINE_LOAD_PLUGINS"] = "lora,runtimes"  # the evaluations load the base and the adapter as a user's do
    result = subprocess.run([sys.executable, "-m", "olivine", "run", str(workflow), "--no-progress", *flags],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = [text for text in LIBRARY_OUTPUT if text in result.stdout + result.stderr]
    assert shown == (list(LIBRARY_OUTPUT) if flags else []), result.stderr[-3000:]
