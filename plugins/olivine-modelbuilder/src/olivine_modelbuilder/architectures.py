"""Model architectures onnxruntime-genai 0.18's builder can build (its dispatch on config.architectures[0]).

Anything else fails inside the builder with ``NotImplementedError`` after the model is loaded;
knowing the list lets a workflow fail at validation instead.
"""

from __future__ import annotations

import json
from pathlib import Path

SUPPORTED = frozenset("""
ChatGLMForConditionalGeneration ChatGLMModel Ernie4_5ForCausalLM Gemma2ForCausalLM Gemma3ForCausalLM
Gemma3ForConditionalGeneration Gemma4ForConditionalGeneration Gemma4UnifiedForConditionalGeneration
GemmaForCausalLM GptOssForCausalLM GraniteForCausalLM GraniteMoeHybridForCausalLM HunYuanDenseV1ForCausalLM
InternLM2ForCausalLM Lfm2AudioForConditionalGeneration Lfm2ForCausalLM Lfm2MoeForCausalLM
Lfm2VlForConditionalGeneration LlamaForCausalLM Mistral3ForConditionalGeneration MistralForCausalLM
NemotronForCausalLM OlmoForCausalLM Phi3ForCausalLM Phi3SmallForCausalLM Phi3VForCausalLM Phi4MMForCausalLM
PhiForCausalLM PhiMoEForCausalLM Qwen2ForCausalLM Qwen2_5_VLForConditionalGeneration Qwen3ForCausalLM
Qwen3VLForConditionalGeneration Qwen3_5ForConditionalGeneration Qwen3_5MoeForConditionalGeneration
SmolLM3ForCausalLM VideoChatFlashQwenForCausalLM WhisperForConditionalGeneration
""".split())


def architecture(folder: Path) -> str | None:
    """``architectures[0]`` of a Hugging Face folder's config.json, or None when it cannot be read."""
    try:
        names = json.loads((Path(folder) / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        return None
    return names[0] if names else None
