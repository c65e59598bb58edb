"""Files of a merged model besides the weights: tokenizer, and a config.json without quantization."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "tokenizer.model",
    "vocab.json", "vocab.txt", "merges.txt", "spiece.model", "chat_template.jinja", "chat_template.json",
)
_TOKENIZER_MARKERS = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def tokenizer_source(adapter_dir: Path, base_dir: Path) -> Path:
    """The adapter folder when the fine-tune saved a tokenizer there (it may add tokens), else the base."""
    if any((adapter_dir / name).is_file() for name in _TOKENIZER_MARKERS):
        return adapter_dir
    return base_dir


def copy_tokenizer(source: Path, out: Path) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
            copied.append(name)
    return copied


def drop_quantization_config(config_file: Path) -> bool:
    """Remove a leftover ``quantization_config`` so that loaders and the ONNX builder see plain weights."""
    config = json.loads(config_file.read_text())
    removed = config.pop("quantization_config", None) is not None
    removed = config.pop("_pre_quantization_dtype", None) is not None or removed
    if removed:
        config_file.write_text(json.dumps(config, indent=2) + "\n")
    return removed
