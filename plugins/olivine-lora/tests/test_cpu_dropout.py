"""LoRA dropout on CPU from 16-bit slices of torch's generator: the distribution nn.Dropout has, masks
that follow torch.manual_seed and a restored RNG state, swapped in for a run and put back after it; a bad
OLIVINE_CPU_DROPOUT or OLIVINE_CPU_MATMUL is a one-line error naming the variable."""

from __future__ import annotations

import pytest
import torch
from olivine import ConfigError
from olivine_lora import cpu_dropout, cpu_matmul


def sliced(p: float) -> cpu_dropout.SlicedDropout:
    return cpu_dropout.SlicedDropout(torch.nn.Dropout(p))


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_keeps_each_element_with_the_configured_probability_and_preserves_the_mean(p):
    torch.manual_seed(0)
    x = torch.rand(1000, 1000) + 0.5
    y = sliced(p)(x)
    kept = y != 0
    n = kept.numel()
    keep = 1 - round(p * 65536) / 65536
    # five standard deviations of a binomial proportion over a million elements
    assert abs(kept.float().mean().item() - keep) < 5 * (keep * (1 - keep) / n) ** 0.5
    torch.testing.assert_close(y[kept], x[kept] / keep)
    assert y.mean().item() == pytest.approx(x.mean().item(), rel=2e-3)
    # neighbouring elements (different 16-bit slices of one draw) are independent
    pairs = kept.view(-1, 4).float()
    assert abs((pairs[:, 0] * pairs[:, 1]).mean().item() - keep * keep) < 5 * (keep * (1 - keep) / (n / 4)) ** 0.5


def test_the_gradient_is_the_mask_and_scale_of_the_forward():
    x = torch.randn(37, 129, requires_grad=True)
    y = sliced(0.1)(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 65536 / (65536 - round(0.1 * 65536))))
    assert not x.grad[~kept].any()


def test_masks_follow_the_seed_and_a_restored_rng_state():
    x, dropout = torch.ones(64, 333), sliced(0.1)
    torch.manual_seed(7)
    first = dropout(x)
    state = torch.get_rng_state()
    second = dropout(x)
    torch.manual_seed(7)
    assert torch.equal(dropout(x), first)
    torch.set_rng_state(state)  # as a resumed run restores it from its checkpoint
    assert torch.equal(dropout(x), second)
    assert not torch.equal(first, second)


def test_eval_mode_and_bfloat16_inputs():
    x = torch.randn(8, 40)
    dropout = sliced(0.3)
    dropout.eval()
    assert dropout(x) is x or torch.equal(dropout(x), x)
    dropout.train()
    y = dropout(x.bfloat16())
    assert y.dtype == torch.bfloat16 and (y == 0).any()


def test_probabilities_16_bits_cannot_express_keep_torchs_dropout():
    assert cpu_dropout.expressible(0.05) and cpu_dropout.expressible(0.015)
    assert not cpu_dropout.expressible(0.001) and not cpu_dropout.expressible(0.0)
    assert not cpu_dropout.expressible(1.0)


def test_install_swaps_lora_dropouts_and_uninstall_puts_the_same_modules_back(tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = get_peft_model(base, LoraConfig(r=4, lora_dropout=0.05, target_modules=["qkv_proj", "o_proj"]))
    before = {name: m for name, m in model.named_modules() if type(m) is torch.nn.Dropout and m.p == 0.05}
    assert before
    assert cpu_dropout.install(model) == len(before)
    assert all(isinstance(m, cpu_dropout.SlicedDropout) for name, m in model.named_modules() if name in before)
    ids = torch.tensor([[1, 5, 9, 13, 17]])
    model.train()
    model(input_ids=ids).logits.sum().backward()
    model.eval()
    cpu_dropout.uninstall(model)
    after = {name: m for name, m in model.named_modules() if name in before}
    assert all(after[name] is before[name] and not after[name].training for name in before)


@pytest.mark.parametrize("setting", [cpu_dropout, cpu_matmul], ids=lambda module: module.ENV)
def test_a_bad_setting_names_the_variable(monkeypatch, setting):
    monkeypatch.setenv(setting.ENV, "fastest")
    with pytest.raises(ConfigError) as caught:
        setting.mode_from_env()
    assert setting.ENV in str(caught.value) and "fastest" in str(caught.value)


def test_a_lora_run_reports_sliced_dropout_and_torch_mode_turns_it_off(tiny_model, kit, tmp_path, monkeypatch):
    from olivine_lora.passes import LoRA

    options = {"train_data_config": "tone_train", "r": 4, "lora_dropout": 0.1, "training_args": {
        "max_steps": 3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "logging_steps": 1}}
    _, fast = kit.run_pass(LoRA.parse_config(options, "passes.lora"), tmp_path / "fast", tiny_model)
    monkeypatch.setenv(cpu_dropout.ENV, "torch")
    _, plain = kit.run_pass(LoRA.parse_config(options, "passes.lora"), tmp_path / "torch", tiny_model)
    assert fast["cpu_lora"]["sliced_dropout_layers"] > 0
    assert "sliced_dropout_layers" not in plain.get("cpu_lora", {})
    assert all(0 < entry["loss"] < 20 for entry in fast["loss"] + plain["loss"])


def test_activation_checkpointing_recomputes_the_same_masks(tiny_model):
    """Checkpointing replays the forward in the backward with the RNG state of the first pass, so the
    recomputed masks are the forward's and the gradients equal those of a run without checkpointing."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, lora_dropout=0.2, target_modules=["qkv_proj", "o_proj", "down_proj"]))
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.1)
    assert cpu_dropout.install(model) > 0
    model.train()
    ids = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 29]])

    def grads() -> list[torch.Tensor]:
        model.zero_grad(set_to_none=True)
        torch.manual_seed(3)
        model(input_ids=ids).logits.square().mean().backward()
        return [p.grad.clone() for p in model.parameters() if p.requires_grad]

    plain = grads()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    for a, b in zip(grads(), plain, strict=True):
        torch.testing.assert_close(a, b)


def test_olivine_run_with_a_bad_setting_exits_2_naming_the_variable(tiny_model, kit, tmp_path, monkeypatch):
    monkeypatch.setenv(cpu_dropout.ENV, "fastest")
    workflow = kit.write_workflow(tmp_path, {"lora": {"type": "LoRA", "train_data_config": "tone_train", "r": 4,
                                                      "training_args": {"max_steps": 1}}}, tiny_model)
    result = kit.cli("run", "--config", str(workflow), "--no-progress")
    assert result.returncode == 2, result.stderr
    assert cpu_dropout.ENV in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "model").exists()
