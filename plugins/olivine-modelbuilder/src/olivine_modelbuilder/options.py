"""Olive's ModelBuilder option names mapped to onnxruntime-genai 0.18's builder options.

The builder reads its options from a flat ``key=value`` list and silently ignores keys it does not
know: Olive's ``int4_block_size`` reaches 0.18 as an unknown key and the model is built with block
32 without a word. Every name is therefore translated here, unknown ``extra_options`` keys are
config errors, and the pass checks the produced model for the values it asked for.
"""

from __future__ import annotations

from typing import Any

from olivine import ConfigError, did_you_mean

# Our config field (Olive's name) -> the builder's extra option in onnxruntime-genai 0.18.
OPTION_MAP = {
    "int4_block_size": "block_size",
    "int4_accuracy_level": "accuracy_level",
    "int4_is_symmetric": "is_symmetric",
    "int4_op_types_to_quantize": "op_types_to_quantize",
    "int4_nodes_to_exclude": "nodes_to_exclude",
    "int4_algo_config": "algo_config",
    "exclude_embeds": "exclude_embeds",
    "exclude_lm_head": "exclude_lm_head",
    "enable_cuda_graph": "enable_cuda_graph",
    "use_qdq": "use_qdq",
    "metadata_only": "config_only",
    "include_hidden_states": "include_hidden_states",
    "use_webgpu_fp32": "use_webgpu_fp32",
    "use_cuda_bf16": "use_cuda_bf16",
    "use_8bits_moe": "moe_quant_type",
}

# Every extra option the 0.18 builder reads (its --extra_options help, checked against its source).
BUILDER_OPTIONS = frozenset("""
accuracy_level adapter_path algo_config aux_hidden_state_layers block_size config_only dflash2_fuse_gate_up
dflash2_fuse_qkv dflash2_num_draft_tokens dflash2_path dflash2_precision disable_qkv_fusion dspark_num_draft_tokens
dspark_path dspark_top_k enable_cuda_fpa_intb_gemm enable_cuda_graph enable_dml_graph enable_webgpu_graph
exclude_embeds exclude_lm_head exclude_mtp filename fuse_mlp_gate_up fuse_qk_norm_gqa fuse_qkv
gpu_utilization_factor hf_remote hf_token include_hidden_states is_symmetric kv_cache_quant_scheme
kv_cache_rotation kv_cache_scale_file linear_attn_op matmul_mixed_precision matmulnbits_weights_prepacked
max_batch_size max_draft_tokens max_scheduled_tokens moe_quant_type mtp_quant_config nodes_to_exclude num_blocks
num_hidden_layers op_types_to_quantize paged_block_size paged_chunk_size prune_lm_head qmoe_block_size
qmoe_weights_prepacked shared_embeddings state_update_capacity state_window use_8bits_moe use_cuda_bf16
use_device_allocator_for_initializers use_paged_attention use_qdq use_webgpu_fp32 windowed_kv_cache
""".split())

# Builder options the pass sets itself from the model it is given and its own fields.
RESERVED = {
    "config_only": "set metadata_only instead",
    "adapter_path": "give ModelBuilder an hf+adapter model (the output of LoRA or QLoRA) instead",
}

# Keys of genai_config.json's "search" section the 0.18 runtime accepts.
SEARCH_KEYS = frozenset("""
batch_size blank_penalty chunk_size diversity_penalty do_sample early_stopping length_penalty max_length
min_length no_repeat_ngram_size num_beams num_return_sequences past_present_share_buffer random_seed
repetition_penalty temperature top_k top_p
""".split())

_SEPARATORS = {"op_types_to_quantize": "/", "nodes_to_exclude": ","}
_FLAGS_OFF_BY_DEFAULT = ("exclude_embeds", "exclude_lm_head", "use_qdq", "metadata_only", "use_8bits_moe")


def render(builder_key: str, value: Any) -> str:
    """A value as the builder's ``key=value`` parser expects it."""
    if builder_key == "moe_quant_type" and isinstance(value, bool):
        return "int8" if value else "int4"  # Olive's use_8bits_moe; the builder deprecated it for this
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return _SEPARATORS.get(builder_key, ",").join(str(v) for v in value)
    return str(value)


def normalize_extra_options(extra: dict[str, Any], config_fields: dict[str, Any], path: str) -> dict[str, Any]:
    """Check ``extra_options`` keys; Olive's names there become the builder's. Raises ConfigError."""
    normalized: dict[str, Any] = {}
    builder_to_field = {builder: field for field, builder in OPTION_MAP.items()}
    for key, value in extra.items():
        key_path = f"{path}.extra_options.{key}"
        builder_key = OPTION_MAP.get(key, key)
        if key in RESERVED or builder_key in RESERVED:
            raise ConfigError(key_path, "is set by the pass", RESERVED.get(key) or RESERVED[builder_key])
        if builder_key not in BUILDER_OPTIONS:
            raise ConfigError(key_path, "unknown onnxruntime-genai builder option (it would be silently ignored)",
                              did_you_mean(key, BUILDER_OPTIONS | set(OPTION_MAP)))
        field = builder_to_field.get(builder_key)
        if field is not None and config_fields.get(field) is not None:
            raise ConfigError(key_path, f"also set as {field}", f"keep one of {field} and extra_options.{key}")
        if builder_key in normalized:
            raise ConfigError(key_path, f"given twice (as {builder_key} and {key})")
        normalized[builder_key] = value
    return normalized


def builder_options(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, str]:
    """The builder's extra options for our config fields plus the (normalized) pass-through ones."""
    options: dict[str, str] = {}
    for field, builder_key in OPTION_MAP.items():
        value = fields.get(field)
        # The builder tests some options for presence (config_only turns off past_present_share_buffer
        # even when false), so an unset or false flag is left out rather than written as false.
        if value is None or (value is False and field in _FLAGS_OFF_BY_DEFAULT):
            continue
        options[builder_key] = render(builder_key, value)
    for key, value in extra.items():
        options[key] = render(key, value)
    # Never ask the Hugging Face hub for a token: the pass builds from local folders only.
    options.setdefault("hf_token", "false")
    return options
