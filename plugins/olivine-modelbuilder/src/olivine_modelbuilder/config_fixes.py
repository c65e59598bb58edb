"""Hand the builder the config layout it reads where transformers 5 saves another one.

transformers 5 saves Gemma 3's RoPE settings per layer type
(``rope_parameters: {"full_attention": {...}, "sliding_attention": {...}}``); onnxruntime-genai 0.18's
Gemma 3 builder reads the flat layout (``rope_parameters["rope_type"]``, ``rope_local_base_freq``) and
fails with ``KeyError: 'rope_type'``. A rewritten config.json cannot carry the flat layout
(transformers converts it back when the builder loads it), so the fix is applied to the builder's
own in-memory config, after it is loaded and before the build: the user's files are never touched.
"""

from __future__ import annotations

from typing import Any

# Architectures whose builder reads the flat RoPE layout (Gemma 4's builder reads the per-layer one).
FLAT_ROPE = frozenset({"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"})


def translate(config: Any) -> list[str]:
    """Rewrite the builder's loaded config in place where it needs it; returns what was changed."""
    architecture = (getattr(config, "architectures", None) or [None])[0]
    if architecture not in FLAT_ROPE:
        return []
    changed = []
    for holder in (config, getattr(config, "text_config", None)):
        if holder is not None and _flatten_rope(holder):
            changed.append("rope_parameters per layer type -> rope_parameters of full attention "
                           "and rope_local_base_freq")
    return changed


def _flatten_rope(config: Any) -> bool:
    params = getattr(config, "rope_parameters", None)
    if not (isinstance(params, dict) and isinstance(params.get("full_attention"), dict)):
        return False
    full, local = params["full_attention"], params.get("sliding_attention") or params["full_attention"]
    config.rope_parameters = dict(full)
    config.rope_theta = full["rope_theta"]
    config.rope_local_base_freq = local["rope_theta"]
    return True
