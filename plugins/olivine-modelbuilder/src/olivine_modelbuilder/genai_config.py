"""genai_config.json fixes: every end-of-turn token stops generation.

The 0.18 builder takes ``eos_token_id`` from config.json and generation_config.json only. A chat
model trained to end its answer with ``<|end|>`` whose config names only ``<|endoftext|>`` then
never stops: generation runs to max_length. The chat end tokens found in the tokenizer join the list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# End-of-turn tokens of common chat templates: Phi-3, Llama 3, ChatML (Qwen), Gemma.
CHAT_END_TOKENS = ("<|end|>", "<|eot_id|>", "<|im_end|>", "<end_of_turn>")


def token_ids(tokenizer_dir: Path) -> dict[str, int]:
    """Special and vocabulary tokens of a tokenizer.json, without loading transformers."""
    path = tokenizer_dir / "tokenizer.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    vocab = data.get("model", {}).get("vocab")
    ids = dict(vocab) if isinstance(vocab, dict) else {}
    ids.update({item["content"]: item["id"] for item in data.get("added_tokens", [])})
    return ids


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def end_token_ids(hf_dir: Path, tokenizer_dir: Path, tokens: list[str] | None) -> tuple[list[int], list[str]]:
    """eos ids of generation_config.json and config.json, then the chat end tokens; plus tokens not found.

    ``tokens`` None means the known chat end tokens that the tokenizer has.
    """
    ids: list[int] = []
    for name in ("generation_config.json", "config.json"):
        path = hf_dir / name
        if path.is_file():
            ids += _as_list(json.loads(path.read_text()).get("eos_token_id"))
    vocab = token_ids(tokenizer_dir)
    wanted = list(CHAT_END_TOKENS) if tokens is None else tokens
    missing = [t for t in wanted if t not in vocab and tokens is not None]
    ids += [vocab[t] for t in wanted if t in vocab]
    return list(dict.fromkeys(ids)), missing


def set_end_tokens(genai_config: Path, ids: list[int]) -> list[int]:
    """Union of the builder's eos ids and ``ids``, written as a list; returns it."""
    config = json.loads(genai_config.read_text())
    merged = list(dict.fromkeys(_as_list(config["model"].get("eos_token_id")) + ids))
    config["model"]["eos_token_id"] = merged
    genai_config.write_text(json.dumps(config, indent=4))
    return merged
