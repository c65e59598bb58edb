"""Per-family LoRA knowledge: each architecture's attention and MLP linear layers (the default targets).

A family not listed here gets every linear layer of the loaded model except its output head and
its mixture-of-experts routers (a router stays frozen: adapting it reshuffles which experts see
which tokens). docs/models.md lists what each family supports end to end.
"""

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
    "olmo": _LLAMA_LIKE,
    "olmo2": _LLAMA_LIKE,
    "smollm3": _LLAMA_LIKE,
    "ernie4_5": _LLAMA_LIKE,
    "hunyuan_v1_dense": _LLAMA_LIKE,
    "nemotron": (("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"), ("lm_head", "embed_tokens")),
    "granite": _LLAMA_LIKE,
    "phi": (("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"), ("lm_head", "embed_tokens")),
    # transformers 5 keeps Mixtral's experts as fused 3-D parameters and its router is no linear layer:
    # attention is what LoRA can adapt (the router stays frozen).
    "mixtral": (("q_proj", "k_proj", "v_proj", "o_proj"), ("lm_head", "embed_tokens")),
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


def default_targets(kind: str | None, model=None) -> list[str] | str:
    """The attention and MLP linear layers of a known architecture; else the loaded model's linear
    layers without head and routers; PEFT's ``all-linear`` when there is no model to look at."""
    if kind in LINEAR_LAYERS:
        return list(LINEAR_LAYERS[kind][0])
    names = linear_leaves(model) if model is not None else []
    return names or "all-linear"


def linear_leaves(model) -> list[str]:
    """Names of the model's nn.Linear layers, less the output head and any mixture-of-experts router."""
    import torch

    experts = _expert_count(model.config)
    head = model.get_output_embeddings()
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and module is not head
             and not (experts and _is_router(name, module, experts))}
    return sorted(names)


def _is_router(name: str, module, experts: int) -> bool:
    # One score per expert, named as routers are (Mixtral's "gate", GraniteMoE's "router.layer");
    # the name test keeps an attention projection that happens to be as wide as the expert count.
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "shared_expert_gate":  # Qwen2-MoE: one score per token, how much the shared expert adds
        return module.out_features == 1
    return module.out_features == experts and (leaf == "gate" or "router" in name)


def _expert_count(config) -> int | None:
    for key in ("num_local_experts", "num_experts", "n_routed_experts"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def linear_layer_names(kind: str | None) -> tuple[str, ...] | None:
    """Every layer name of a known architecture that LoRA can target (None when unknown)."""
    if kind not in LINEAR_LAYERS:
        return None
    targets, others = LINEAR_LAYERS[kind]
    return targets + others
