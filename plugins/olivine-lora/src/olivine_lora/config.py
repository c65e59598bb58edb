"""The LoRA and QLoRA pass configs, with Olive's names (``lora_r``, ``lora_alpha``) and the current ones."""

from __future__ import annotations

from typing import Literal

from olivine import StrictConfig
from pydantic import AliasChoices, Field

from olivine_lora.training_args import TrainingArgs

DType = Literal["auto", "float32", "bfloat16", "float16"]


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
    training_args: TrainingArgs = Field(  # type: ignore[valid-type]
        default_factory=TrainingArgs, description="Any Hugging Face TrainingArguments field.")


class QLoRAConfig(LoRAConfig):
    """Config of the QLoRA pass: LoRA over a 4-bit (bitsandbytes) base."""

    double_quant: bool = Field(False, description="Quantize the quantization constants too.")
    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type.")
    compute_dtype: DType = Field("auto", description="Dtype the 4-bit layers compute in (auto: as torch_dtype).")
