"""The fast loop keeps the Trainer's math: merged accumulation, packing and step counts change nothing."""

from __future__ import annotations

import math

import pytest
import torch
from olivine import DataConfig
from olivine_lora import loading, precision, settings
from olivine_lora.batching import _padded, collate, split, to_samples
from olivine_lora.loss import loss_sum
from olivine_lora.passes import LoRA


@pytest.fixture(scope="module")
def model_and_samples(tiny_model, kit):
    from olivine import training_examples

    torch.set_num_threads(1)
    config = LoRA.parse_config({"train_data_config": "tone_train", "r": 8, "lora_dropout": 0.0,
                                "modules_to_save": ["lm_head"]}, "passes.lora")
    torch.manual_seed(0)
    loaded = loading.load(config, tiny_model, {}, "cpu", precision.resolve("float32", "cpu", False, False, []),
                          quantized=False, checkpointing=False, path="passes.lora")
    with torch.no_grad():  # non-zero lora_B, so every LoRA parameter has a gradient to compare
        for name, param in loaded.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    examples, _ = training_examples(DataConfig.model_validate(kit.tone_data_config()), loaded.tokenizer)
    return loaded.model, to_samples(examples[:8])


def gradients(model, groups, n_targets):
    model.zero_grad()
    for group in groups:
        (loss_sum(model, collate(group, 0), None) / n_targets).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def test_one_merged_forward_gives_the_gradient_of_accumulated_micro_batches(model_and_samples):
    model, samples = model_and_samples
    n_targets = sum(s.n_targets for s in samples)
    accumulated = gradients(model, [samples[i:i + 2] for i in range(0, 8, 2)], n_targets)  # 4 x batch 2
    merged = gradients(model, [samples], n_targets)
    halves = gradients(model, split(samples, 2), n_targets)
    for name, grad in accumulated.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(merged[name], grad, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(halves[name], grad, rtol=1e-4, atol=1e-7)


def test_packed_rows_give_the_loss_of_padded_rows(model_and_samples):
    model, samples = model_and_samples
    uneven = [s for s in samples] + [type(s)(s.ids[:12], s.targets[:11] + [-100]) for s in samples[:3]]
    packed = collate(uneven, 0)
    assert packed.position_ids is not None and packed.input_ids.shape[0] < len(uneven)
    longest = max(len(s.ids) for s in uneven)
    with torch.no_grad():
        torch.testing.assert_close(loss_sum(model, packed, None), loss_sum(model, _padded(uneven, longest, 0, 0, 0),
                                                                           None), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n, batch, accumulation, epochs, max_steps, expected", [
    (384, 1, 4, 3.0, -1, 288),  # ceil(384 / 4) per epoch
    (385, 1, 4, 1.0, -1, 97),  # a last, shorter accumulation still steps
    (384, 8, 1, 0.5, -1, 24),
    (384, 1, 4, 3.0, 150, 150),  # max_steps wins, as in the Phi-3 cookbook config
])
def test_step_counts_follow_the_trainer(n, batch, accumulation, epochs, max_steps, expected):
    args = LoRA.parse_config({"train_data_config": "d", "training_args": {
        "per_device_train_batch_size": batch, "gradient_accumulation_steps": accumulation,
        "num_train_epochs": epochs, "max_steps": max_steps}}, "p").training_args
    resolved = settings.resolve(args, n, has_eval=False, notes=[])
    assert resolved.total_steps == expected
    assert resolved.warmup_steps == math.ceil(expected * 0.03)  # Olive's default warmup ratio


def test_a_step_that_runs_out_of_gpu_memory_is_retried_in_smaller_forwards(model_and_samples, monkeypatch):
    """CUDA cannot run here: the out-of-memory error is raised by a stand-in for large forwards."""
    from olivine_lora import step as step_module
    from olivine_lora.optim import optimizer, scheduler
    from olivine_lora.training_args import TrainingArgs

    model, samples = model_and_samples
    real = step_module.loss_sum

    def small_forwards_only(model, batch, *args):
        if batch.tokens > sum(len(s.ids) for s in samples) // 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (stand-in)")
        return real(model, batch, *args)

    monkeypatch.setattr(step_module, "loss_sum", small_forwards_only)
    args = TrainingArgs.model_validate({"learning_rate": 0.0})
    notes: list[str] = []
    opt = optimizer(model, args, "cpu", notes)
    stepper = step_module.Stepper(model, opt, scheduler(opt, args, 0, 10, notes),
                                  precision.resolve("float32", "cpu", False, False, notes), "cpu", 0, args,
                                  budget=10**6, notes=notes)
    loss = stepper.step(samples)
    with torch.no_grad():
        expected = sum(real(model, collate([s], 0), None) for s in samples) / sum(s.n_targets for s in samples)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    assert stepper.forwards >= 4  # the merged forward failed: the step ran as smaller ones
    assert any(note.startswith("out of memory: now") for note in notes)
