"""MergeAdapterWeights on a LoRA adapter of the tiny Phi-3: what a user gets in the merged folder."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from olivine import ConfigError, ModelRef, content_key
from olivine_merge.merge_pass import MergeAdapterWeights


def _logits(model, batch):
    with torch.no_grad():
        return model(**batch).logits


@pytest.fixture
def merged(run_pass, tiny, lora_adapter):
    return run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=lora_adapter, base_model=tiny))


def test_merged_model_gives_the_adapter_models_logits(merged, tiny, lora_adapter, prompt_ids):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ref, _ = merged
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), lora_adapter).eval()
    plain_base = AutoModelForCausalLM.from_pretrained(tiny).eval()
    merged_model = AutoModelForCausalLM.from_pretrained(ref.path).eval()

    expected = _logits(with_adapter, prompt_ids)
    assert (_logits(merged_model, prompt_ids) - expected).abs().max().item() < 1e-4  # measured 1.1e-6
    assert (_logits(plain_base, prompt_ids) - expected).abs().max().item() > 1e-2  # the adapter matters


def test_merged_folder_is_a_plain_hf_model_with_tokenizer_and_generation_config(merged, tiny):
    ref, ctx = merged
    files = {p.name for p in ref.path.iterdir()}
    assert ref.format == "hf" and ref.base_model is None
    assert "model.safetensors" in files and not {"adapter_config.json", "adapter_model.safetensors"} & files
    assert not any(name.endswith(".bin") for name in files)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (ref.path / name).read_bytes() == (tiny / name).read_bytes()
    generation = json.loads((ref.path / "generation_config.json").read_text())
    assert generation["eos_token_id"] == json.loads((tiny / "generation_config.json").read_text())["eos_token_id"]
    config = json.loads((ref.path / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    assert any("merged LORA r=8" in note for note in ctx.report["notes"])
    assert ctx.report["adapter"]["target_modules"] == sorted(["qkv_proj", "o_proj", "gate_up_proj", "down_proj"])


def test_tokenizer_comes_from_the_adapter_folder_when_the_fine_tune_saved_one(run_pass, tiny, lora_adapter,
                                                                                tmp_path):
    adapter = tmp_path / "adapter-with-tokenizer"
    shutil.copytree(lora_adapter, adapter)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny / name, adapter / name)
    config = json.loads((adapter / "tokenizer_config.json").read_text())
    config["chat_template"] = "{{ messages[0]['content'] }}<|end|>"
    (adapter / "tokenizer_config.json").write_text(json.dumps(config))

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=adapter, base_model=tiny))
    assert json.loads((ref.path / "tokenizer_config.json").read_text())["chat_template"] == config["chat_template"]
    assert ctx.report["tokenizer_from"] == "adapter"


def test_torch_dtype_sets_the_saved_weights_dtype(run_pass, tiny, lora_adapter):
    from safetensors import safe_open

    ref, _ = run_pass(MergeAdapterWeights, {"torch_dtype": "bf16"},
                      ModelRef(format="hf+adapter", path=lora_adapter, base_model=tiny))
    assert json.loads((ref.path / "config.json").read_text())["dtype"] == "bfloat16"
    with safe_open(ref.path / "model.safetensors", "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()} == {torch.bfloat16}
    assert ref.metadata["dtype"] == "bfloat16"


def test_merge_is_deterministic(run_pass, tiny, lora_adapter, merged):
    again, _ = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=lora_adapter, base_model=tiny))
    assert content_key(again.path / "model.safetensors") == content_key(merged[0].path / "model.safetensors")


@pytest.mark.parametrize("config, path, text", [
    ({"torch_dtpye": "float16"}, "passes.merge.torch_dtpye", "did you mean torch_dtype?"),
    ({"torch_dtype": "int4"}, "passes.merge.torch_dtype", ""),
])
def test_config_errors_name_the_key(config, path, text):
    from olivine import ConfigErrors

    with pytest.raises((ConfigError, ConfigErrors)) as raised:
        MergeAdapterWeights.parse_config(config, "passes.merge")
    assert path in str(raised.value) and text in str(raised.value)


def test_missing_base_model_is_reported(run_pass, lora_adapter):
    with pytest.raises(ValueError, match="base model"):
        run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=lora_adapter))


def test_plain_lora_is_merged_straight_into_the_safetensors_like_peft_does(merged, tiny, lora_adapter):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    ref, ctx = merged
    assert ctx.report["method"] == "direct"
    by_peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), lora_adapter).merge_and_unload()
    expected = by_peft.state_dict()
    got = load_file(ref.path / "model.safetensors")
    assert set(got) == set(load_file(tiny / "model.safetensors"))
    assert max((got[k] - expected[k]).abs().max().item() for k in got) < 1e-6


def test_dora_adapter_is_merged_through_peft(run_pass, tiny, prompt_ids, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    dora = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny), LoraConfig(
        r=4, lora_alpha=8, target_modules=["qkv_proj", "down_proj"], use_dora=True, init_lora_weights=False))
    dora.save_pretrained(tmp_path / "dora")

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=tmp_path / "dora",
                                                          base_model=tiny))
    assert ctx.report["method"] == "peft"
    expected = _logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), tmp_path / "dora")
                       .eval(), prompt_ids)
    merged_model = AutoModelForCausalLM.from_pretrained(ref.path).eval()
    assert (_logits(merged_model, prompt_ids) - expected).abs().max().item() < 1e-4


def test_sharded_base_keeps_its_shards(run_pass, tiny, lora_adapter, prompt_ids, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    sharded = tmp_path / "sharded"
    AutoModelForCausalLM.from_pretrained(tiny).save_pretrained(sharded, max_shard_size="1MB")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny / name, sharded / name)
    shards = sorted(p.name for p in sharded.glob("*.safetensors"))
    assert len(shards) > 1

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=lora_adapter, base_model=sharded))
    assert ctx.report["method"] == "direct"
    assert sorted(p.name for p in ref.path.glob("*.safetensors")) == shards
    expected = _logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), lora_adapter).eval(),
                       prompt_ids)
    assert (_logits(AutoModelForCausalLM.from_pretrained(ref.path).eval(), prompt_ids) - expected).abs().max() < 1e-4


def test_plain_lora_merge_imports_neither_peft_nor_transformers(tiny, lora_adapter, tmp_path):
    import subprocess
    import sys

    code = f"""
import sys
from pathlib import Path
from olivine import ModelRef, PassContext
from olivine_merge.merge_pass import MergeAdapterWeights
ctx = PassContext(output_dir=Path({str(tmp_path)!r}), workflow_dir=Path("."), show_progress=False)
MergeAdapterWeights().run(ModelRef(format="hf+adapter", path={str(lora_adapter)!r}, base_model={str(tiny)!r}), ctx)
sys.exit(len({{"peft", "transformers", "bitsandbytes"}} & set(sys.modules)))
"""
    assert subprocess.run([sys.executable, "-c", code], timeout=300).returncode == 0


def test_adapter_with_saved_embedding_and_head_is_merged_directly(run_pass, tiny, prompt_ids, tmp_path):
    """modules_to_save (what the tone fine-tune uses for embed_tokens and lm_head) replace the base weights."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    torch.manual_seed(4)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny), LoraConfig(
        r=4, lora_alpha=8, target_modules=["qkv_proj", "down_proj"], modules_to_save=["embed_tokens", "lm_head"],
        init_lora_weights=False))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "modules_to_save" in name:
                param.add_(torch.randn_like(param) * 0.05)
    model.save_pretrained(tmp_path / "adapter")

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=tmp_path / "adapter",
                                                          base_model=tiny))
    assert ctx.report["method"] == "direct"
    by_peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), tmp_path / "adapter").eval()
    expected = _logits(by_peft, prompt_ids)
    assert (_logits(AutoModelForCausalLM.from_pretrained(ref.path).eval(), prompt_ids) - expected).abs().max() < 1e-4
    merged_state, got = by_peft.merge_and_unload().state_dict(), load_file(ref.path / "model.safetensors")
    assert torch.equal(got["lm_head.weight"], merged_state["lm_head.weight"])
    assert not torch.equal(got["lm_head.weight"], load_file(tiny / "model.safetensors")["lm_head.weight"])


def test_peft_merge_keeps_transformers_chatter_off_the_terminal(run_pass, tiny, tmp_path, capfd):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny), LoraConfig(
        r=4, target_modules=["qkv_proj"], use_dora=True)).save_pretrained(tmp_path / "dora")
    capfd.readouterr()
    _, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=tmp_path / "dora",
                                                        base_model=tiny))
    terminal = capfd.readouterr()
    assert ctx.report["method"] == "peft"
    assert "Loading weights" not in terminal.err and "Writing model shards" not in terminal.err


def test_registering_and_configuring_the_pass_imports_nothing_heavy():
    import subprocess
    import sys

    code = "\n".join([
        "import sys",
        "from olivine import get_plugins",
        "get_plugins().passes.get('MergeAdapterWeights').parse_config({'torch_dtype': 'bf16'}, 'p')",
        "sys.exit(len({'torch', 'transformers', 'peft', 'safetensors', 'bitsandbytes'} & set(sys.modules)))",
    ])
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
