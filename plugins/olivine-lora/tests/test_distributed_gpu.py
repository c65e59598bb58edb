"""Distributed LoRA on CUDA: nccl DDP on 2 GPUs against 1 GPU with the doubled batch, and FSDP2 in bf16 with a
resumable checkpoint. Skipped without 2 CUDA GPUs (bench/device/gpu_checks.sh runs every `gpu` test)."""

from __future__ import annotations

import shutil

import pytest
import torch
from olivine_lora.passes import LoRA
from safetensors.torch import load_file

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2,
                                                  reason="needs 2 CUDA GPUs")]


def _config(processes: int, batch: int, **training):
    raw = {"train_data_config": "tone_train", "r": 4, "alpha": 8, "lora_dropout": 0,
           "training_args": {"seed": 1, "learning_rate": 2e-3, "per_device_train_batch_size": batch,
                             "gradient_accumulation_steps": 2, "max_steps": 6, "save_steps": 3, "logging_steps": 1,
                             **training}}
    if processes != 1:
        raw["distributed"] = {"nproc_per_node": processes}
    return LoRA.parse_config(raw, "passes.lora")


def _train(folder, checkpoints, tiny_model, kit, config):
    ref, report = kit.run_pass(config, folder, tiny_model, checkpoints)
    return ref.path, report


def _assert_same(report, adapter, reference_report, reference_adapter, atol: float):
    for mine, theirs in zip(report["loss"], reference_report["loss"], strict=True):
        assert mine["loss"] == pytest.approx(theirs["loss"], abs=atol)
    weights = load_file(adapter / "adapter_model.safetensors")
    for name, value in load_file(reference_adapter / "adapter_model.safetensors").items():
        torch.testing.assert_close(weights[name].float(), value.float(), rtol=0, atol=atol)


def test_nccl_ddp_on_two_gpus_trains_as_one_gpu_with_the_doubled_batch(tmp_path, tiny_model, kit):
    one_adapter, one = _train(tmp_path / "one", tmp_path / "one-ckpt", tiny_model, kit, _config(1, 4, bf16=False))
    adapter, report = _train(tmp_path / "ddp", tmp_path / "ddp-ckpt", tiny_model, kit, _config(2, 2, bf16=False))
    assert (report["device"], report["world_size"], report["parallelism"]) == ("cuda", 2, "ddp")
    assert report["effective_batch"] == one["effective_batch"] == 8
    _assert_same(report, adapter, one, one_adapter, atol=2e-3)  # TF32 matmuls: looser than on CPU


def test_fsdp_in_bf16_shards_trains_and_resumes_from_its_checkpoint(tmp_path, tiny_model, kit):
    config = _config(2, 2, bf16=True, fsdp="full_shard auto_wrap")
    adapter, report = _train(tmp_path / "fsdp", tmp_path / "ckpt", tiny_model, kit, config)
    assert (report["world_size"], report["parallelism"]) == (2, "fsdp")
    assert "bfloat16" in report["precision"]
    assert [p.name for p in (tmp_path / "ckpt").glob("step-*")] == ["step-000000003"]
    (tmp_path / "resume").mkdir()
    shutil.copytree(tmp_path / "ckpt" / "step-000000003", tmp_path / "resume" / "step-000000003")
    resumed_adapter, resumed = _train(tmp_path / "resumed", tmp_path / "resume", tiny_model, kit, config)
    assert resumed["resumed_from_step"] == 3
    _assert_same(resumed, resumed_adapter, report, adapter, atol=2e-2)  # bf16 reductions in another order
