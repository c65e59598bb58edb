"""LoRA dropout on CPU from a keyed generator: nn.Dropout's distribution and scaling, masks fixed by
(seed, step), identity in eval mode, and PEFT's modules back after training."""

from __future__ import annotations

import math

import torch
from olivine_lora import cpu_dropout


def test_keeps_one_minus_p_of_the_elements_and_scales_them_as_nn_dropout():
    source = cpu_dropout.MaskSource(0)
    dropout = cpu_dropout.StepDropout(0.05, source)
    x = torch.ones(1000, 1000)
    y = dropout(x)
    kept = y != 0
    rate = kept.float().mean().item()
    assert abs(rate - 0.95) < 5 * math.sqrt(0.95 * 0.05 / x.numel())  # five standard deviations
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.95))


def test_masks_are_fixed_by_seed_and_step_so_a_resumed_run_draws_the_same():
    x = torch.ones(64, 64)

    def mask(seed: int, step: int) -> torch.Tensor:
        source = cpu_dropout.MaskSource(seed)
        source.begin_step(step)
        return cpu_dropout.StepDropout(0.3, source)(x) != 0

    assert torch.equal(mask(0, 7), mask(0, 7))
    assert not torch.equal(mask(0, 7), mask(0, 8))
    assert not torch.equal(mask(0, 7), mask(1, 7))


def test_eval_mode_and_p_zero_pass_the_input_through():
    source = cpu_dropout.MaskSource(0)
    x = torch.randn(8, 8)
    off = cpu_dropout.StepDropout(0.5, source).eval()
    assert off(x) is x
    assert cpu_dropout.StepDropout(0.0, source)(x) is x


def test_gradient_flows_through_kept_elements_only():
    dropout = cpu_dropout.StepDropout(0.5, cpu_dropout.MaskSource(3))
    x = torch.ones(32, 32, requires_grad=True)
    y = dropout(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() * 2.0)


def test_install_swaps_peft_dropout_and_uninstall_puts_it_back(tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, lora_dropout=0.1, target_modules=["qkv_proj", "o_proj"]))
    assert cpu_dropout.install(model, 0) is not None
    swapped = [m for m in model.modules() if isinstance(m, cpu_dropout.StepDropout)]
    assert len(swapped) == 2 * model.config.num_hidden_layers and all(m.p == 0.1 for m in swapped)
    cpu_dropout.uninstall(model)
    assert not any(isinstance(m, cpu_dropout.StepDropout) for m in model.modules())
    assert sum(type(m) is torch.nn.Dropout and m.p == 0.1 for m in model.modules()) == len(swapped)


def test_no_lora_dropout_means_nothing_to_install(tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, lora_dropout=0.0, target_modules=["qkv_proj"]))
    assert cpu_dropout.install(model, 0) is None
