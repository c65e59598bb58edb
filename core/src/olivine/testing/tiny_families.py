"""Tiny random-init causal LMs of the families Olive recipes target (Llama, Qwen, Mistral, Gemma, Phi),
sharing the tiny Phi-3's tokenizer: real Hugging Face folders a recipe's ``model_path`` can point at."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from olivine.testing.tiny_model import _cache_root, tiny_phi3

# family -> transformers model_type; each config gets the same tiny dimensions.
FAMILIES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "mistral": "mistral",
            "gemma3": "gemma3_text", "phi3": "phi3"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def tiny_model(family: str) -> Path:
    """A cached tiny model of ``family`` (``phi3`` is the tone-trained tiny Phi-3 itself)."""
    base = tiny_phi3()
    if family == "phi3":
        return base
    target = _cache_root() / f"tiny-{family}-{base.name.rsplit('-', 1)[-1]}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        _write(family, base, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write(family: str, tokenizer_dir: Path, out: Path) -> None:
    import json

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    special = json.loads((tokenizer_dir / "config.json").read_text())
    config = AutoConfig.for_model(
        FAMILIES[family], vocab_size=special["vocab_size"], hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        max_position_embeddings=512, pad_token_id=special["pad_token_id"], bos_token_id=special["bos_token_id"],
        eos_token_id=special["eos_token_id"], tie_word_embeddings=False)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).to(torch.float32).eval()
    model.save_pretrained(out, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy2(tokenizer_dir / name, out / name)
