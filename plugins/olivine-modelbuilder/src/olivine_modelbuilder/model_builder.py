"""The ModelBuilder pass: its config (Olive's names), checks before any work, and the run."""

from __future__ import annotations

from typing import Any, Literal

from olivine import (
    Accelerator,
    ConfigError,
    ModelRef,
    Pass,
    PassContext,
    StrictConfig,
    ValidationContext,
    did_you_mean,
)
from pydantic import Field, field_validator

from olivine_modelbuilder import architectures, targets
from olivine_modelbuilder.options import OPTION_MAP, SEARCH_KEYS, builder_options, normalize_extra_options

Precision = Literal["int4", "int8", "fp16", "bf16", "fp32"]
# Options the builder reads for some targets only (elsewhere it ignores them).
PROVIDER_ONLY = {"enable_cuda_graph": ("cuda", "NvTensorRtRtx"), "use_webgpu_fp32": ("webgpu",),
                 "use_cuda_bf16": ("cuda", "NvTensorRtRtx")}
ACCURACY_LEVEL_NAMES = {"fp32": 1, "fp16": 2, "bf16": 3, "int8": 4}
QUANT_FIELDS = ("int4_block_size", "int4_accuracy_level", "int4_is_symmetric", "int4_op_types_to_quantize",
                "int4_nodes_to_exclude", "int4_algo_config")


class ModelBuilderConfig(StrictConfig):
    precision: Precision = Field("fp32", description="Weight precision of the ONNX model")
    execution_provider: str | None = Field(
        None, description="Builder target (cpu, cuda, dml, webgpu, NvTensorRtRtx or an onnxruntime provider "
                          "name); default: the target system's accelerator")
    int4_block_size: int | None = Field(None, description="MatMulNBits block size: 16, 32, 64, 128 or 256")
    int4_accuracy_level: int | None = Field(
        None, ge=0, le=4, description="Minimum accuracy of MatMulNBits activations: 1 fp32, 2 fp16, 3 bf16, 4 int8")
    int4_is_symmetric: bool | None = Field(None, description="Symmetric (int4/int8) or asymmetric (uint4/uint8)")
    int4_op_types_to_quantize: list[Literal["MatMul", "Gather"]] | None = Field(
        None, description="Op types to quantize")
    int4_nodes_to_exclude: list[str] | None = Field(None, description="Node names left unquantized")
    int4_algo_config: Literal["default", "rtn", "k_quant", "rtn_last", "k_quant_last", "k_quant_mixed",
                              "k_quant_linear"] | None = Field(None, description="Weight quantization method")
    exclude_embeds: bool = Field(False, description="Leave the embedding out: the model takes inputs_embeds")
    exclude_lm_head: bool = Field(False, description="Leave the LM head out: the model returns hidden_states")
    enable_cuda_graph: bool | None = Field(None, description="CUDA graph capture (cuda; always on for NvTensorRtRtx)")
    use_qdq: bool = Field(False, description="QuantizeLinear/DequantizeLinear pairs instead of MatMulNBits")
    include_hidden_states: bool | None = Field(None, description="Output hidden_states beside logits")
    use_webgpu_fp32: bool | None = Field(None, description="fp32 inputs and outputs on webgpu (GPUs without fp16)")
    use_cuda_bf16: bool | None = Field(None, description="bf16 inputs and outputs for int4 on cuda")
    use_8bits_moe: bool | None = Field(None, description="8-bit instead of 4-bit weights in MoE layers")
    search: dict[str, Any] | None = Field(None, description="Generation defaults written to genai_config.json")
    metadata_only: bool = Field(False, description="Only write genai_config.json and the tokenizer beside "
                                                   "an existing ONNX model (input format onnx)")
    end_of_turn_tokens: list[str] | None = Field(
        None, description="Tokens that end generation besides eos; default: the chat end tokens the "
                          "tokenizer has (<|end|>, <|eot_id|>, <|im_end|>, <end_of_turn>)")
    extra_options: dict[str, Any] = Field(default_factory=dict,
                                          description="Other onnxruntime-genai builder options, passed through")

    @field_validator("int4_block_size")
    @classmethod
    def _block_size(cls, value: int | None) -> int | None:
        if value is not None and value not in (16, 32, 64, 128, 256):
            raise ValueError("must be 16, 32, 64, 128 or 256")
        return value

    @field_validator("int4_accuracy_level", mode="before")
    @classmethod
    def _accuracy_names(cls, value: Any) -> Any:
        return ACCURACY_LEVEL_NAMES.get(value, value) if isinstance(value, str) else value


class ModelBuilder(Pass[ModelBuilderConfig]):
    """Build an onnxruntime-genai ONNX model (int4, int8, fp16, bf16, fp32) from a Hugging Face model."""

    name = "ModelBuilder"
    accepts = ("hf", "hf+adapter", "onnx")
    produces = "onnx-genai"
    Config = ModelBuilderConfig

    def validate(self, ctx: ValidationContext) -> None:
        provider, _ = self.plan(ctx.accelerator, ctx.path)
        targets.check_runtime_installed(provider, ctx.path)
        self._check_architecture(ctx)

    def _check_architecture(self, ctx: ValidationContext) -> None:
        """Passes before this one (LoRA, merge) keep the workflow input's architecture: check it here."""
        model = ctx.input_model
        if self.config.metadata_only or model is None or model.format not in ("hf", "hf+adapter"):
            return
        folder = model.base_model if model.format == "hf+adapter" else model.path
        name = architectures.architecture(folder) if folder is not None else None
        known = architectures.supported()
        if name is not None and known and name not in known:
            # No "did you mean": the user chose a model, not a class name; a near name is another family.
            raise ConfigError(f"{ctx.path}.type", f"onnxruntime-genai's builder cannot build {name} models "
                              "(fine-tuning and merging work; leave ModelBuilder out to keep a Hugging Face model)",
                              f"it builds: {', '.join(sorted(known))}")

    def plan(self, accelerator: Accelerator | None, path: str) -> tuple[str, dict[str, str]]:
        """The builder target and options; raises ConfigError for anything the builder would get wrong."""
        cfg = self.config
        provider = self._provider(accelerator, path)
        if not targets.precision_supported(cfg.precision, provider):
            valid = ", ".join(targets.VALID_PRECISIONS[provider])
            raise ConfigError(f"{path}.precision", f"{cfg.precision} is not supported for {provider} by "
                              "onnxruntime-genai's builder", f"{provider} takes {valid}")
        fields = cfg.model_dump(include=set(OPTION_MAP))
        self._check_combinations(provider, path)
        self._check_search(path)
        extra = normalize_extra_options(cfg.extra_options, fields, path)
        if cfg.exclude_lm_head and (cfg.include_hidden_states or str(extra.get("include_hidden_states", "")).lower()
                                    in ("true", "1")):
            raise ConfigError(f"{path}.exclude_lm_head", "cannot be combined with include_hidden_states")
        return provider, builder_options(fields, extra)

    def _provider(self, accelerator: Accelerator | None, path: str) -> str:
        if self.config.execution_provider is not None:
            name, key = self.config.execution_provider, f"{path}.execution_provider"
        else:
            name, key = (accelerator or Accelerator()).execution_provider, f"{path}.execution_provider"
        provider = targets.builder_provider(name)
        if provider is None:
            choices = [*targets.BUILDER_PROVIDERS, *targets.ORT_TO_BUILDER]
            raise ConfigError(key, f"the onnxruntime-genai builder cannot target {name}",
                              did_you_mean(name, choices) or f"targets: {', '.join(targets.BUILDER_PROVIDERS)}")
        return provider

    def _check_combinations(self, provider: str, path: str) -> None:
        cfg = self.config
        if cfg.precision not in ("int4", "int8"):
            for name in QUANT_FIELDS:
                if getattr(cfg, name) is not None:
                    raise ConfigError(f"{path}.{name}", f"applies to int4 and int8 builds, not {cfg.precision}")
        if cfg.use_qdq and cfg.precision != "int4":
            raise ConfigError(f"{path}.use_qdq", f"the builder supports QDQ for int4 only, not {cfg.precision}")
        for name, providers in PROVIDER_ONLY.items():
            if getattr(cfg, name) is not None and provider not in providers:
                raise ConfigError(f"{path}.{name}", f"applies to the {' and '.join(providers)} target only, "
                                  f"not {provider}")
        if cfg.enable_cuda_graph is False and provider == "NvTensorRtRtx":
            # Microsoft's TensorRT-RTX recipes set it true; the builder always captures graphs on that target.
            raise ConfigError(f"{path}.enable_cuda_graph", "the builder always enables CUDA graphs for NvTensorRtRtx",
                              "remove it")
        if cfg.use_cuda_bf16 and cfg.precision != "int4":
            raise ConfigError(f"{path}.use_cuda_bf16", f"applies to int4 builds, not {cfg.precision}",
                              "for bf16 weights set precision bf16")

    def _check_search(self, path: str) -> None:
        for key in self.config.search or {}:
            if key not in SEARCH_KEYS:
                raise ConfigError(f"{path}.search.{key}", "unknown genai_config.json search option",
                                  did_you_mean(key, SEARCH_KEYS))

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        from olivine_modelbuilder.runner import build

        path = _config_path(ctx)
        provider, options = self.plan(ctx.accelerator, path)
        return build(self.config, model, provider, options, ctx, path)


def _config_path(ctx: PassContext) -> str:
    """``passes.<key>`` of the running pass (its type when run outside a workflow)."""
    return f"passes.{ctx.pass_key or ModelBuilder.name}"
