"""Tiny random-init causal LMs of any family transformers builds, sharing the tiny Phi-3's tone tokenizer:
real Hugging Face folders a recipe's ``model_path`` can point at. The family matrix
(scripts/family_matrix.py) builds its models with ``make_tiny`` too, at its own sizes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from olivine.testing import tokenizer as tk
from olivine.testing.tiny_model import _cache_root, built_once, tiny_phi3

# family -> transformers model_type, for the families Olive recipes target.
FAMILIES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "mistral": "mistral",
            "gemma3": "gemma3_text", "phi3": "phi3"}

# The sizes every tiny model shares unless a caller passes others (the matrix does).
SIZES = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, max_position_embeddings=512)

# Per model_type: what a tiny config needs beyond the shared sizes so that onnxruntime-genai's builder
# and runtime accept it (all-attention Granite 4 layers, LFM2 conv + attention, a few experts).
CONFIG_OVERRIDES: dict[str, dict] = {
    "granitemoehybrid": {"layer_types": ["attention", "attention"], "num_local_experts": 0,
                         "shared_intermediate_size": 128, "position_embedding_type": "rope"},
    "lfm2": {"layer_types": ["conv", "full_attention"]},
    "lfm2_moe": {"layer_types": ["conv", "full_attention"], "num_dense_layers": 1, "num_experts": 4,
                 "num_experts_per_tok": 2, "moe_intermediate_size": 64},
    "gpt_oss": {"num_local_experts": 4, "num_experts_per_tok": 2},
    "phi3": {"original_max_position_embeddings": 512},
}


def make_tiny(model_type: str, tokenizer, out: str | os.PathLike, architecture: str | None = None,
              seed: int = 0, **sizes) -> Path:
    """Write a deterministic random-init ``model_type`` model with ``tokenizer`` (one of
    ``olivine.testing.tokenizer``'s) and a generation config stopping at its end tokens to ``out``.

    ``architecture`` names the class when the model type has several causal-LM classes; ``sizes``
    replace entries of SIZES or add config fields (``sliding_window=32``).
    """
    import torch
    from transformers import CONFIG_MAPPING, AutoModelForCausalLM, GenerationConfig

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tk.SPECIAL_TOKENS}
    options = {**SIZES, **sizes, "vocab_size": len(tokenizer), "pad_token_id": ids[tk.PAD],
               "bos_token_id": ids[tk.ENDOFTEXT], "eos_token_id": ids[tk.ENDOFTEXT], "tie_word_embeddings": False}
    options.update(CONFIG_OVERRIDES.get(model_type, {}))
    config = CONFIG_MAPPING[model_type](**options)
    if architecture:
        config.architectures = [architecture]
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(bos_token_id=ids[tk.ENDOFTEXT], pad_token_id=ids[tk.PAD],
                                               eos_token_id=[ids[tk.ENDOFTEXT], ids[tk.END]])
    target = Path(out)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def tiny_model(family: str) -> Path:
    """A cached tiny model of ``family`` (``phi3`` is the tone-trained tiny Phi-3 itself)."""
    base = tiny_phi3()
    if family == "phi3":
        return base
    from transformers import AutoTokenizer

    return built_once(_cache_root() / f"tiny-{family}-{_content_key(base)}",
                      lambda out: make_tiny(FAMILIES[family], AutoTokenizer.from_pretrained(base), out))


def _content_key(base: Path) -> str:
    # The tokenizer's model and this file's source: changing how a family is made rebuilds it.
    digest = hashlib.sha256(base.name.encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]
