"""What a model's config.json says about its linear layers, read without loading the model."""

from __future__ import annotations

import json
from pathlib import Path

_LLAMA_LIKE = (("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
               ("lm_head", "embed_tokens"))

# model_type -> (attention and MLP linear layers: the default targets, other layers LoRA can adapt)
LINEAR_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "phi3": (("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), ("lm_head", "embed_tokens")),
    "llama": _LLAMA_LIKE,
    "mistral": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "qwen3": _LLAMA_LIKE,
    "gemma": _LLAMA_LIKE,
    "gemma2": _LLAMA_LIKE,
    "gemma3_text": _LLAMA_LIKE,
    "olmo2": _LLAMA_LIKE,
    "granite": _LLAMA_LIKE,
    "phi": (("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"), ("lm_head", "embed_tokens")),
    "mixtral": (("q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"), ("gate", "lm_head", "embed_tokens")),
    "gpt2": (("c_attn", "c_proj", "c_fc"), ("lm_head", "wte")),
    "gpt_neox": (("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"), ("embed_out", "embed_in")),
    "falcon": (("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"), ("lm_head", "word_embeddings")),
}


def model_type(model_dir: Path) -> str | None:
    """``model_type`` from ``model_dir/config.json``, or None when there is no readable config."""
    try:
        return json.loads((Path(model_dir) / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


def default_targets(kind: str | None) -> list[str] | str:
    """The attention and MLP linear layers of a known architecture, else PEFT's ``all-linear``."""
    if kind in LINEAR_LAYERS:
        return list(LINEAR_LAYERS[kind][0])
    return "all-linear"


def linear_layer_names(kind: str | None) -> tuple[str, ...] | None:
    """Every layer name of a known architecture that LoRA can target (None when unknown)."""
    if kind not in LINEAR_LAYERS:
        return None
    targets, others = LINEAR_LAYERS[kind]
    return targets + others
