"""What a base model's ``config.json`` says, read without importing transformers: its context length,
and whether it is a causal language model LoRA can fine-tune.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olivine_lora import model_types

# Keys that hold the longest sequence a model was built for, by family (first found wins).
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx",
                "max_seq_len")
# Scaled RoPE stretches the context by its factor when config.json still gives the original length.
STRETCHING_ROPE = ("linear", "dynamic", "yarn", "longrope", "llama3")
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
# Heads that are clearly something else than next-token prediction (a masked LM, a classifier, ...).
OTHER_HEADS = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
               "ForMultipleChoice", "ForNextSentencePrediction", "ForPreTraining", "ForImageClassification",
               "ForAudioClassification", "ForCTC", "ForXVector", "ForAudioFrameClassification",
               "ForSemanticSegmentation", "ForObjectDetection", "ForMaskedImageModeling", "ForDepthEstimation",
               "ForSpeechSeq2Seq", "ForMaskGeneration", "ForImageSegmentation", "ForUniversalSegmentation")


def read(model_dir: Path) -> dict[str, Any] | None:
    """The parsed ``config.json`` of a model folder, or None when there is none to read."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def context_length(config: dict[str, Any]) -> tuple[int, str] | None:
    """(longest sequence, the config.json key it comes from), or None when config.json does not say."""
    for section, prefix in ((config, ""), (config.get("text_config"), "text_config.")):
        if not isinstance(section, dict):
            continue
        for key in CONTEXT_KEYS:
            value = section.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return _stretched(section, value), prefix + key
    return None


def _stretched(section: dict[str, Any], length: int) -> int:
    rope = section.get("rope_scaling")
    if not isinstance(rope, dict) or "original_max_position_embeddings" in rope:
        return length  # no scaling, or max_position_embeddings is already the stretched length (Llama 3.1)
    factor = rope.get("factor")
    kind = rope.get("rope_type") or rope.get("type")
    if kind in STRETCHING_ROPE and isinstance(factor, (int, float)) and factor > 1:
        return int(length * factor)
    return length


def not_causal_lm(config: dict[str, Any]) -> str | None:
    """Why the model is not a causal LM (for an error message), or None when it is or cannot be told.

    By name first: an architecture ending in ForCausalLM or LMHeadModel is one, one ending in another
    task's head (ForMaskedLM, ForSequenceClassification, ...) is not. Otherwise (ForConditionalGeneration,
    a bare model, no architectures) by ``model_type``: a type transformers has no causal-LM class for
    is not one; a type it does not know (custom code) gets the benefit of the doubt.
    """
    archs = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    if any(a.endswith(CAUSAL_SUFFIXES) and not a.endswith("WithLMHeadModel") for a in archs):
        return None
    auto_map = config.get("auto_map")
    if isinstance(auto_map, dict) and "AutoModelForCausalLM" in auto_map:
        return None
    other = [a for a in archs if a.endswith(OTHER_HEADS)]
    if other and len(other) == len(archs):
        return f"its architecture {other[0]} is not a causal language model (config.json architectures)"
    kind = config.get("model_type")
    if isinstance(kind, str) and kind in model_types.NOT_CAUSAL_LM:
        named = f" ({archs[0]})" if archs else ""
        return f"its model_type {kind!r}{named} has no causal language model class in transformers"
    return None
