"""A QLoRA adapter (trained over a 4-bit nf4 base on CPU) merged, then built into an int4 ONNX model."""

from __future__ import annotations

import json

import pytest
import torch
from olivine import ModelRef
from olivine_merge.merge_pass import MergeAdapterWeights

pytest.importorskip("bitsandbytes")
QUANTIZATION = {"method": "bitsandbytes", "bits": 4, "quant_type": "nf4", "double_quant": True,
                "compute_dtype": "float32"}


@pytest.fixture(scope="module")
def qlora(tiny, prompt_ids, tmp_path_factory):
    """A few real QLoRA steps (peft's k-bit preparation, nf4 + double quantization on CPU).

    Returns the adapter folder and the logits of the trained 4-bit model with its adapter.
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    torch.manual_seed(2)
    bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(tiny, quantization_config=bnb, device_map={"": "cpu"})
    base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, init_lora_weights=False, task_type="CAUSAL_LM",
                                            target_modules=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for _ in range(3):
        model(**prompt_ids, labels=prompt_ids["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        trained = model(**prompt_ids).logits
    adapter = tmp_path_factory.mktemp("qlora") / "adapter"
    model.save_pretrained(adapter)
    return adapter, trained


def test_qlora_adapter_merges_into_the_dequantized_base(run_pass, tiny, qlora, prompt_ids):
    from transformers import AutoModelForCausalLM

    adapter, trained = qlora
    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=adapter, base_model=tiny,
                                                          metadata={"quantization": QUANTIZATION}))
    naive, _ = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=adapter, base_model=tiny))

    with torch.no_grad():
        merged_logits = AutoModelForCausalLM.from_pretrained(ref.path).eval()(**prompt_ids).logits
        naive_logits = AutoModelForCausalLM.from_pretrained(naive.path).eval()(**prompt_ids).logits
    merged_error = (merged_logits - trained).abs().max().item()
    naive_error = (naive_logits - trained).abs().max().item()
    # Measured: 0.0037 into the de-quantized base, 0.135 into the original fp32 weights.
    assert merged_error < 0.01
    assert merged_error * 5 < naive_error

    config = json.loads((ref.path / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    assert any("de-quantized the nf4 with double quantization 4-bit base" in n for n in ctx.report["notes"])
    assert ctx.report["dequantized"]["quantization_config_dropped"] is True
    assert ref.metadata["dequantized_from"].startswith("nf4")


def test_qlora_quantization_is_read_from_the_adapters_quantization_json(run_pass, tiny, qlora, tmp_path):
    """An adapter folder given as a workflow's input model has no metadata, only the QLoRA pass's file."""
    import shutil

    adapter = tmp_path / "adapter"
    shutil.copytree(qlora[0], adapter)
    (adapter / "quantization.json").write_text(json.dumps(QUANTIZATION))

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=adapter, base_model=tiny))
    assert ctx.report["dequantized"]["source"] == "the adapter's quantization.json"
    assert ctx.report["method"] == "peft"
    assert not (ref.path / "quantization.json").exists()


def test_qlora_quantization_is_also_read_from_a_prequantized_base(run_pass, tiny, qlora, tmp_path):
    """A base saved in 4 bits carries its own quantization_config; the merge de-quantizes it too."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.float32)
    prequantized = tmp_path / "base-4bit"
    AutoModelForCausalLM.from_pretrained(tiny, quantization_config=bnb, device_map={"": "cpu"}).save_pretrained(
        prequantized)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (prequantized / name).write_bytes((tiny / name).read_bytes())
    assert "quantization_config" in json.loads((prequantized / "config.json").read_text())

    ref, ctx = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=qlora[0],
                                                          base_model=prequantized))
    assert "quantization_config" not in json.loads((ref.path / "config.json").read_text())
    assert ctx.report["dequantized"]["source"] == "the base checkpoint's config.json"


def test_qlora_merge_then_int4_onnx_generates(run_pass, tiny, qlora):
    og = pytest.importorskip("onnxruntime_genai")
    model_builder = pytest.importorskip("olivine_modelbuilder.model_builder")

    merged, _ = run_pass(MergeAdapterWeights, {}, ModelRef(format="hf+adapter", path=qlora[0], base_model=tiny,
                                                           metadata={"quantization": QUANTIZATION}))
    onnx_ref, _ = run_pass(model_builder.ModelBuilder, {"precision": "int4"}, merged)

    model = og.Model(str(onnx_ref.path))
    tokenizer = og.Tokenizer(model)
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=48)
    generator = og.Generator(model, params)
    prompt = tokenizer.encode("<|user|>\nI lost my keys again<|end|>\n<|assistant|>\n")
    generator.append_tokens(prompt)
    while not generator.is_done():
        generator.generate_next_token()
    assert len(generator.get_sequence(0)) > len(prompt)
    assert onnx_ref.metadata["precision"] == "int4" and onnx_ref.metadata["bits"] == [4]
