"""The LoRA and QLoRA pass configs, with Olive's names (``lora_r``, ``lora_alpha``) and the current ones."""

from __future__ import annotations

from typing import Literal

from olivine import StrictConfig
from pydantic import AliasChoices, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from olivine_lora.distributed import DistributedConfig
from olivine_lora.training_args import TrainingArgs

DType = Literal["auto", "float32", "bfloat16", "float16"]
QUANT_TYPE = Literal["nf4", "fp4"]
# QLoRA's own keys. Olive's LoRA takes them (the Phi-3 cookbook sets double_quant on a LoRA pass it calls
# QLoRA): olivine accepts them on LoRA too, with a note that they change nothing there.
QLORA_ONLY = ("double_quant", "quant_type", "compute_dtype")


class LoRAConfig(StrictConfig):
    """Config of the LoRA pass."""

    r: int = Field(64, ge=1, validation_alias=AliasChoices("r", "lora_r"),
                   description="LoRA rank (Olive: lora_r).")
    alpha: float = Field(16, gt=0, validation_alias=AliasChoices("alpha", "lora_alpha"),
                         description="LoRA scaling numerator: updates are scaled by alpha / r (Olive: lora_alpha).")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA branch input.")
    target_modules: list[str] | str | None = Field(
        None, description="Module names (suffixes) or one regex; default: the architecture's attention and MLP "
                          "linear layers.")
    target_parameters: list[str] | None = Field(
        None, description="Names (suffixes) of weights that are no linear layer, to adapt too: a mixture-of-experts "
                          "model's fused experts, e.g. experts.gate_up_proj and experts.down_proj (PEFT's "
                          "target_parameters).")
    modules_to_save: list[str] | None = Field(
        None, description="Other modules trained in full and saved with the adapter (e.g. lm_head).")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")
    bias: Literal["none", "all", "lora_only"] = Field("none", description="Which biases to train.")
    train_data_config: str = Field(description="Name of the data config to train on.")
    eval_data_config: str | None = Field(None, description="Name of the data config to evaluate on.")
    eval_dataset_size: float | None = Field(
        None, gt=0, description="Hold out this fraction (< 1) or number of training examples for evaluation, "
                                "when eval_data_config is not given.")
    torch_dtype: DType = Field(
        "auto", description="Dtype of the base weights: auto = bfloat16 on CUDA (with bf16 autocast), float32 "
                            "on CPU. float16 means fp16 mixed precision over float32 weights.")
    allow_tf32: bool = Field(True, description="Allow TF32 matmuls on Ampere and newer GPUs.")
    training_args: TrainingArgs = Field(
        default_factory=TrainingArgs, description="Any Hugging Face TrainingArguments field.")
    distributed: DistributedConfig | None = Field(
        None, description="Train across several processes or nodes (torch.distributed, launched by olivine).")
    double_quant: bool | None = Field(
        None, description="QLoRA only: accepted on LoRA (as Olive does) with a note; LoRA does not quantize.")
    quant_type: QUANT_TYPE | None = Field(
        None, description="QLoRA only: accepted on LoRA (as Olive does) with a note; LoRA does not quantize.")
    compute_dtype: DType | None = Field(
        None, description="QLoRA only: accepted on LoRA (as Olive does) with a note; LoRA does not quantize.")

    @model_serializer(mode="wrap")
    def _without_unset_qlora_keys(self, handler: SerializerFunctionWrapHandler) -> dict:
        # Unset QLoRA keys stay out of LoRA's dump, so the cache key of a LoRA config without them is unchanged.
        data = handler(self)
        # Likewise an unset distributed section: single-process configs keep their cache keys.
        # And target_parameters: configs written before it existed keep their keys.
        return {k: v for k, v in data.items()
                if not ((k in QLORA_ONLY or k in ("distributed", "target_parameters")) and v is None)}

    @model_validator(mode="after")
    def _no_dropout_on_fused_weights(self) -> LoRAConfig:
        # PEFT applies no dropout to a targeted parameter: the default 0.05 gives way, a chosen value is an error.
        if self.target_parameters and self.lora_dropout:
            if "lora_dropout" in self.model_fields_set:
                raise ValueError("lora_dropout must be 0 with target_parameters (PEFT has no dropout for weights "
                                 "adapted directly)")
            self.lora_dropout = 0.0
        return self

    def notes(self) -> list[str]:
        """One line per QLoRA-only key set on a LoRA pass: accepted, no effect; and defaults that gave way."""
        found = []
        if self.target_parameters and "lora_dropout" not in self.model_fields_set:
            found.append("lora_dropout is 0: PEFT has no dropout for the weights target_parameters adapts")
        if isinstance(self, QLoRAConfig):
            return found
        return found + [f"{key} applies to QLoRA; this LoRA pass does not quantize"
                        for key in QLORA_ONLY if getattr(self, key) is not None]


class QLoRAConfig(LoRAConfig):
    """Config of the QLoRA pass: LoRA over a 4-bit (bitsandbytes) base."""

    double_quant: bool = Field(False, description="Quantize the quantization constants too.")
    quant_type: QUANT_TYPE = Field("nf4", description="4-bit data type.")
    compute_dtype: DType = Field(
        "auto", description="Dtype the 4-bit layers compute in (auto: as torch_dtype).")
