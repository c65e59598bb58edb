"""The MergeAdapterWeights pass: its config and the run."""

from __future__ import annotations

from typing import Any, Literal

from olivine import ModelRef, Pass, PassContext, StrictConfig
from pydantic import Field, field_validator

DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "half": "float16", "float": "float32"}


class MergeConfig(StrictConfig):
    torch_dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="dtype of the merged weights; auto: the compute dtype a QLoRA adapter was trained "
                            "with, else the base checkpoint's dtype")

    @field_validator("torch_dtype", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.removeprefix("torch.")
            return DTYPE_ALIASES.get(value, value)
        return value


class MergeAdapterWeights(Pass[MergeConfig]):
    """Merge a LoRA or QLoRA adapter into its base model and save a plain Hugging Face model."""

    name = "MergeAdapterWeights"
    accepts = ("hf+adapter",)
    produces = "hf"
    Config = MergeConfig

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        from olivine_merge.merging import merge

        return merge(self.config, model, ctx)
