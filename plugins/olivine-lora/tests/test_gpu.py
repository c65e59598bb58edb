"""LoRA and QLoRA on a CUDA GPU: bf16 weights and autocast, 4-bit base through bitsandbytes' CUDA kernels."""

from __future__ import annotations

import pytest
import torch
from olivine_lora.passes import LoRA, QLoRA

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_lora_trains_in_bf16_on_cuda(tmp_path, tiny_model, kit):
    ref, model, report = kit.train_briefly(LoRA, tmp_path, tiny_model)
    assert report["device"] == "cuda"
    assert report["precision"] == "weights bfloat16, autocast bfloat16"
    if "train_share_of_peak_bf16" in report:  # a card in olivine_lora.flops.PEAK_BF16
        assert 0 < report["train_share_of_peak_bf16"] < 1
    eval_loss = [p["loss"] for p in report["eval_loss"]]
    assert eval_loss[-1] < eval_loss[0]
    assert all(p.device.type == "cuda" for p in model.parameters())


def test_qlora_trains_on_cuda_with_every_lora_parameter_learning(tmp_path, tiny_model, kit):
    pytest.importorskip("bitsandbytes")
    ref, model, report = kit.train_briefly(QLoRA, tmp_path, tiny_model)
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
