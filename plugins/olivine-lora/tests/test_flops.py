"""The report's share of peak bf16 FLOP/s: the per-token count, and no figure where there is no CUDA GPU."""

from __future__ import annotations

import json

import torch
from olivine_lora import flops
from transformers import AutoModelForCausalLM


def test_flops_per_token_counts_the_frozen_linear_layers_and_attention(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    cfg = json.loads((tiny_model / "config.json").read_text())
    hidden, inner, layers, vocab = (cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"],
                                    cfg["vocab_size"])
    head_dim = hidden // cfg["num_attention_heads"]
    qkv = hidden * (hidden + 2 * cfg["num_key_value_heads"] * head_dim)
    per_layer = qkv + hidden * hidden + hidden * 2 * inner + inner * hidden  # qkv, o, gate_up, down
    linear = layers * per_layer + hidden * vocab  # and the LM head

    assert flops.flops_per_token(model, 10.0) == 4 * linear + 3 * 2 * 10.0 * hidden * layers


def test_no_share_without_a_cuda_gpu_or_for_an_unknown_card(tiny_model):
    assert flops.peak_bf16("NVIDIA H100 80GB HBM3") == 989e12
    assert flops.peak_bf16("Some Future Card") is None
    if not torch.cuda.is_available():
        model = AutoModelForCausalLM.from_pretrained(tiny_model)
        assert flops.share_of_peak(model, 1000.0, 10.0) is None
