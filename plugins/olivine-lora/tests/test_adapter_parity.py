"""A saved adapter reloaded with PeftModel.from_pretrained computes what the trained model computed."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from olivine import DataConfig, ModelRef, PassContext
from olivine.testing import PROMPT_TEMPLATE, load_tone_rows
from olivine_lora import bnb_guard
from olivine_lora.passes import LoRA, QLoRA
from olivine_lora.run import train_adapter


def short_training(cls, tmp_path, tiny_model, kit, **extra):
    torch.set_num_threads(1)
    config = cls.parse_config({"train_data_config": "tone_train", "r": 8, "alpha": 16, **extra, "training_args": {
        "learning_rate": 5e-3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "max_steps": 12}},
        "passes.lora")
    ctx = PassContext(output_dir=tmp_path, workflow_dir=tmp_path, show_progress=False,
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"))
    return train_adapter(config, ModelRef(format="hf", path=tiny_model), ctx, quantized=cls is QLoRA)


def prompts(tokenizer):
    texts = [PROMPT_TEMPLATE.format(phrase=row["phrase"]) for row in load_tone_rows("test")[:6]]
    return tokenizer(texts, add_special_tokens=False, return_tensors="pt", padding=True)


def logits(model, batch):
    model.eval()
    with torch.no_grad():
        return model(**batch).logits


def test_lora_adapter_reloads_to_identical_logits(tmp_path, tiny_model, kit):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref, trained = short_training(LoRA, tmp_path, tiny_model, kit, modules_to_save=["lm_head"])
    batch = prompts(AutoTokenizer.from_pretrained(ref.path))
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(ref.base_model), ref.path)
    expected, actual = logits(trained, batch), logits(reloaded, batch)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)
    with reloaded.disable_adapter():  # the adapter does change the model: parity is not trivial
        assert (logits(reloaded, batch) - expected).abs().max() > 1e-2


def test_qlora_adapter_reloads_over_the_same_4bit_base(tmp_path, tiny_model, kit):
    pytest.importorskip("bitsandbytes")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    ref, trained = short_training(QLoRA, tmp_path, tiny_model, kit, double_quant=True)
    quant = json.loads((ref.path / "quantization.json").read_text())
    base = AutoModelForCausalLM.from_pretrained(
        ref.base_model, dtype=torch.float32, device_map={"": "cpu"},
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant["quant_type"],
                                               bnb_4bit_use_double_quant=quant["double_quant"],
                                               bnb_4bit_compute_dtype=getattr(torch, quant["compute_dtype"])))
    reloaded = PeftModel.from_pretrained(base, ref.path)
    # Same 4-bit kernel as in training: without this, eval mode on an AVX512-BF16 CPU switches bitsandbytes
    # to its repacked inference kernel, whose logits differ by about 1e-3.
    bnb_guard.protect(reloaded)
    batch = prompts(AutoTokenizer.from_pretrained(ref.path))
    torch.testing.assert_close(logits(reloaded, batch), logits(trained, batch), rtol=0, atol=1e-5)
