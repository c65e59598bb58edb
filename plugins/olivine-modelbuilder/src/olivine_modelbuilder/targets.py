"""Which execution provider the builder targets, and which precisions it can build for each one."""

from __future__ import annotations

import importlib.util

from olivine import ConfigError

# onnxruntime's provider names (what Olive configs and accelerators use) to the builder's `-e` names.
ORT_TO_BUILDER = {
    "CPUExecutionProvider": "cpu",
    "CUDAExecutionProvider": "cuda",
    "DmlExecutionProvider": "dml",
    "WebGpuExecutionProvider": "webgpu",
    "NvTensorRTRTXExecutionProvider": "NvTensorRtRtx",
}
BUILDER_PROVIDERS = ("cpu", "cuda", "dml", "webgpu", "NvTensorRtRtx")

# The combinations onnxruntime-genai 0.18's builder lists as valid (printed by its command line).
# Others build without a word and fail when loaded: dml + fp32 gives "Graph output (present.0.key)
# does not exist in the graph", cpu + bf16 has no CPU kernel for Where(16).
VALID_PRECISIONS = {
    "cpu": ("fp32", "int8", "int4"),
    "cuda": ("fp32", "fp16", "bf16", "int8", "int4"),
    "dml": ("fp16", "int4"),
    "webgpu": ("int8", "int4"),
    "NvTensorRtRtx": ("fp16", "bf16"),
}

# genai_config.json's provider_options key for each builder target (cpu writes none).
GENAI_PROVIDER_KEY = {"cuda": "cuda", "dml": "dml", "webgpu": "webgpu", "NvTensorRtRtx": "NvTensorRtRtx"}


def builder_provider(name: str) -> str | None:
    """``CUDAExecutionProvider`` or ``cuda`` -> ``cuda``; None when the builder has no such target."""
    if name in BUILDER_PROVIDERS:
        return name
    if name in ORT_TO_BUILDER:
        return ORT_TO_BUILDER[name]
    lowered = {key.lower(): value for key, value in {**ORT_TO_BUILDER, **{p: p for p in BUILDER_PROVIDERS}}.items()}
    return lowered.get(name.lower())


def precision_supported(precision: str, provider: str) -> bool:
    return precision in VALID_PRECISIONS.get(provider, ())


# The olivine-modelbuilder extra that installs the onnxruntime-genai flavour for a builder target.
EXTRA_FOR_TARGET = {"cuda": "cuda", "NvTensorRtRtx": "cuda", "dml": "directml"}


def check_runtime_installed(provider: str, path: str) -> None:
    """The builder ships inside onnxruntime-genai, which this package installs only through an extra."""
    if importlib.util.find_spec("onnxruntime_genai") is None:
        extra = EXTRA_FOR_TARGET.get(provider, "cpu")
        raise ConfigError(f"{path}.type", "ModelBuilder needs onnxruntime-genai, which is not installed",
                          f"pip install 'olivine-modelbuilder[{extra}]' (the extras are cpu, cuda and directml; "
                          "install one)")
