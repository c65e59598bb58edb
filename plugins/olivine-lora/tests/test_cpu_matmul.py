"""Frozen CPU layers through oneDNN or the default BLAS: the same numbers either way, a choice by timing in
auto mode, and a report of it (a bad OLIVINE_CPU_MATMUL: test_cpu_dropout)."""

from __future__ import annotations

import pytest
import torch
from olivine_lora import cpu_matmul

pytestmark = pytest.mark.skipif(not cpu_matmul.onednn_available(), reason="this torch build has no oneDNN")


def frozen_model(width: int = 1024) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.SiLU(),
                                torch.nn.Linear(width, 2048, bias=False))
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def input_gradient(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = model(x)
    (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
    return y.detach(), x.grad


def test_onednn_gives_the_default_blas_results_to_float32_rounding():
    model, x = frozen_model(), torch.randn(2, 33, 1024)
    expected_y, expected_grad = input_gradient(model, x)
    chooser = cpu_matmul.install(model, "onednn")
    assert chooser is not None
    y, grad = input_gradient(model, x)
    torch.testing.assert_close(y, expected_y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-5)
    cpu_matmul.uninstall(model)
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_auto_times_both_and_settles_on_one_per_shape_and_direction():
    model, x = frozen_model(), torch.randn(1, 40, 1024)
    chooser = cpu_matmul.install(model, "auto")
    assert chooser is not None
    for _ in range(2 * (cpu_matmul.TRIALS + 1)):
        input_gradient(model, x)
    summary = chooser.summary()
    assert set(summary) == {"1024x1024 forward", "1024x1024 input grad", "2048x1024 forward", "2048x1024 input grad"}
    assert all(v.split(",")[0] in ("default", "onednn") for v in summary.values())
    before = input_gradient(model, x)  # settled: whichever was chosen, the results stay those of float32
    cpu_matmul.uninstall(model)
    after = input_gradient(model, x)
    for a, b in zip(before, after, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_small_trainable_or_low_precision_layers_keep_their_own_forward():
    small = torch.nn.Linear(64, 64).requires_grad_(False)
    trainable = torch.nn.Linear(1024, 1024)
    half = torch.nn.Linear(1024, 1024).to(torch.bfloat16).requires_grad_(False)
    for layer in (small, trainable, half):
        assert cpu_matmul.install(layer, "auto") is None
    assert cpu_matmul.install(frozen_model(), "default") is None


def test_a_lora_run_reports_its_choice_and_trains_as_the_default_does(tiny_model, kit, tmp_path, monkeypatch):
    """The tiny model's layers are below the size auto mode considers, so ``onednn`` is forced for the run."""
    from olivine_lora.passes import LoRA

    options = {"train_data_config": "tone_train", "r": 4, "lora_dropout": 0.0, "training_args": {
        "max_steps": 3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "logging_steps": 1}}
    monkeypatch.setenv(cpu_matmul.ENV, "default")
    _, default = kit.run_pass(LoRA.parse_config(options, "passes.lora"), tmp_path / "default", tiny_model)
    monkeypatch.setenv(cpu_matmul.ENV, "onednn")
    _, onednn = kit.run_pass(LoRA.parse_config(options, "passes.lora"), tmp_path / "onednn", tiny_model)
    assert "cpu_matmul" not in default
    assert onednn["cpu_matmul"] and all(v.startswith("onednn") for v in onednn["cpu_matmul"].values())
    for a, b in zip(default["loss"], onednn["loss"], strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
