"""LoRA and QLoRA on a CUDA GPU: bf16 weights and autocast, 4-bit base through bitsandbytes' CUDA kernels."""

from __future__ import annotations

import logging

import pytest
import torch
from olivine import ModelRef, PassContext
from olivine.config.schema import DataConfig
from olivine_lora.passes import LoRA, QLoRA
from olivine_lora.run import train_adapter

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def train_on_gpu(cls, tmp_path, tiny_model, kit):
    config = cls.parse_config({
        "train_data_config": "tone_train", "eval_dataset_size": 16, "r": 8, "alpha": 16,
        "training_args": {"learning_rate": 2e-3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2,
                          "max_steps": 40, "logging_steps": 10, "eval_on_start": True, "eval_steps": 20}},
        "passes.lora")
    ctx = PassContext(output_dir=tmp_path, workflow_dir=tmp_path, show_progress=False,
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"))
    ref, model = train_adapter(config, ModelRef(format="hf", path=tiny_model), ctx, quantized=cls is QLoRA)
    return ref, model, ctx.report


def test_lora_trains_in_bf16_on_cuda(tmp_path, tiny_model, kit):
    ref, model, report = train_on_gpu(LoRA, tmp_path, tiny_model, kit)
    assert report["device"] == "cuda"
    assert report["precision"] == "weights bfloat16, autocast bfloat16"
    eval_loss = [p["loss"] for p in report["eval_loss"]]
    assert eval_loss[-1] < eval_loss[0]
    assert all(p.device.type == "cuda" for p in model.parameters())


def test_qlora_trains_on_cuda_with_every_lora_parameter_learning(tmp_path, tiny_model, kit):
    pytest.importorskip("bitsandbytes")
    ref, model, report = train_on_gpu(QLoRA, tmp_path, tiny_model, kit)
    assert ref.metadata["quantization"]["compute_dtype"] == "bfloat16"
    qkv = model.get_base_model().model.layers[0].self_attn.qkv_proj.base_layer
    assert type(qkv.weight).__name__ == "Params4bit" and qkv.weight.device.type == "cuda"
    eval_loss = [p["loss"] for p in report["eval_loss"]]
    assert eval_loss[-1] < eval_loss[0]
    # one more step by hand: every LoRA parameter has a non-zero gradient
    from olivine_lora.batching import collate, to_samples
    from olivine_lora.loss import loss_sum

    ids = torch.randint(5, 1000, (4, 24)).tolist()
    samples = to_samples([{"input_ids": row, "labels": row} for row in ids])
    model.train()
    loss_sum(model, collate(samples, 0).to("cuda"), torch.bfloat16).backward()
    zero = [n for n, p in model.named_parameters() if p.requires_grad and not p.grad.abs().max() > 0]
    assert zero == []
