"""A deterministic, random-init Phi-3-architecture model with a tokenizer trained on given texts."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from olivine.testing import tokenizer as tk
from olivine.testing.tone_data import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, TONES, load_tone_rows

MAX_POSITIONS = 512
_CACHE_ENV = "OLIVINE_TEST_CACHE"


def make_tiny_phi3(
    output_dir: str | os.PathLike,
    texts: Iterable[str],
    seed: int = 0,
    hidden_size: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    intermediate_size: int = 256,
    vocab_size: int = 1024,
) -> Path:
    """Write a Hugging Face Phi-3 folder (safetensors, tokenizer, generation config) to `output_dir`."""
    import torch
    from transformers import GenerationConfig, Phi3Config, Phi3ForCausalLM

    tokenizer = tk.train_tokenizer(texts, vocab_size, MAX_POSITIONS)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tk.SPECIAL_TOKENS}
    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=MAX_POSITIONS,
        original_max_position_embeddings=MAX_POSITIONS,
        pad_token_id=ids[tk.PAD],
        bos_token_id=ids[tk.ENDOFTEXT],
        eos_token_id=ids[tk.ENDOFTEXT],
        tie_word_embeddings=False,
        torch_dtype="float32",  # type: ignore[call-arg]  # accepted through **kwargs; the stubs list fields only
    )
    torch.manual_seed(seed)
    model = Phi3ForCausalLM(config).to(torch.float32).eval()  # type: ignore[arg-type]  # transformers' stub
    model.generation_config = GenerationConfig(
        bos_token_id=ids[tk.ENDOFTEXT],
        eos_token_id=[ids[tk.ENDOFTEXT], ids[tk.END]],
        pad_token_id=ids[tk.PAD],
    )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def tone_texts(data_dir: str | os.PathLike | None = None) -> list[str]:
    """What the tiny model's tokenizer learns from: the tone phrases, labels and prompt format."""
    texts = [PROMPT_TEMPLATE, COMPLETION_TEMPLATE, *TONES]
    for split in ("train", "test"):
        for row in load_tone_rows(split, data_dir):
            texts.append(PROMPT_TEMPLATE.format(phrase=row["phrase"]) + COMPLETION_TEMPLATE.format(tone=row["tone"]))
    return texts


def tiny_phi3() -> Path:
    """The tiny Phi-3 built from the tone data, made once per content and kept in a cache folder."""
    texts = tone_texts()
    return built_once(_cache_root() / f"tiny-phi3-{_content_key(texts)}", lambda out: make_tiny_phi3(out, texts))


def built_once(target: Path, build: Callable[[Path], object]) -> Path:
    """``target`` as ``build(folder)`` makes it, built only when absent. It is built beside the target and
    renamed into place, so a concurrent caller never sees half a model (the first rename wins)."""
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        build(staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _cache_root() -> Path:
    override = os.environ.get(_CACHE_ENV)
    return Path(override) if override else Path(tempfile.gettempdir()) / "olivine-test-models"


def _content_key(texts: list[str]) -> str:
    # The generator's own source is part of the key: changing how the model is made rebuilds it.
    digest = hashlib.sha256()
    for source in (Path(__file__), Path(tk.__file__)):
        digest.update(source.read_bytes())
    digest.update(json.dumps(texts).encode("utf-8"))
    return digest.hexdigest()[:16]
