"""The lean forward of plain LoRA layers: peft's outputs and gradients to float rounding, peft's own forward
for every other case, and nothing left behind after uninstall."""

from __future__ import annotations

import pytest
import torch
from olivine_lora import lean_lora


def peft_model(tiny_model, **lora):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = get_peft_model(base, LoraConfig(**{"r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
                                               "target_modules": ["qkv_proj", "o_proj", "gate_up_proj"], **lora}))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero; a non-zero B makes the LoRA term show
            torch.nn.init.normal_(param, std=0.1)
    return model


IDS = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 29], [2, 6, 10, 14, 18, 22, 26, 30]])


@torch.no_grad()
def logits_of(model) -> torch.Tensor:
    return model(input_ids=IDS).logits


def outputs_and_grads(model) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=IDS).logits
    (logits * torch.linspace(-1, 1, logits.shape[-1])).sum().backward()
    return logits.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad]


def test_the_lean_forward_gives_peft_s_outputs_and_gradients(tiny_model):
    model = peft_model(tiny_model)
    expected, expected_grads = outputs_and_grads(model)
    assert lean_lora.install(model) == 6  # 2 layers x (qkv_proj, o_proj, gate_up_proj)
    lean, lean_grads = outputs_and_grads(model)
    torch.testing.assert_close(lean, expected, rtol=1e-5, atol=1e-5)
    for a, b in zip(lean_grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    lean_lora.uninstall(model)
    assert not any(lean_lora.LEAN in m.__dict__ or "forward" in m.__dict__ for m in model.modules())


def test_disabled_or_merged_adapters_take_peft_s_forward(tiny_model):
    model = peft_model(tiny_model)
    with model.disable_adapter():
        plain = logits_of(model)
    lean_lora.install(model)
    with model.disable_adapter():
        torch.testing.assert_close(logits_of(model), plain)
    unmerged = logits_of(model)
    assert not torch.allclose(unmerged, plain, atol=1e-4)
    model.merge_adapter()  # the merged base alone gives what base plus adapter gave
    torch.testing.assert_close(logits_of(model), unmerged, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("lora", [{"use_dora": True}, {"lora_bias": True}])
def test_variants_and_biased_adapters_keep_peft_s_forward(tiny_model, lora):
    model = peft_model(tiny_model, **lora)
    assert lean_lora.install(model) == 0
