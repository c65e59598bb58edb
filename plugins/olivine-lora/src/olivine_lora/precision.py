"""Which dtype the base weights load in and which autocast the forward runs under, per device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Precision:
    weights: torch.dtype
    autocast: torch.dtype | None  # None: no autocast
    grad_scaling: bool  # fp16 autocast needs a GradScaler

    def describe(self) -> str:
        auto = f", autocast {str(self.autocast).removeprefix('torch.')}" if self.autocast else ""
        return f"weights {str(self.weights).removeprefix('torch.')}{auto}"


def resolve(torch_dtype: str, device: str, bf16: bool, fp16: bool, notes: list[str]) -> Precision:
    """``torch_dtype`` plus the ``bf16`` / ``fp16`` training args, on ``device`` (``cpu`` or ``cuda``)."""
    cuda = device.startswith("cuda")
    if torch_dtype == "float16" or fp16:
        if not cuda:
            notes.append("fp16 mixed precision needs CUDA; training in float32 on CPU")
            return Precision(torch.float32, None, False)
        # float16 weights are unstable to train through: fp32 weights, fp16 compute.
        return Precision(torch.float32, torch.float16, True)
    if torch_dtype == "auto":
        if cuda:
            return Precision(torch.bfloat16, torch.bfloat16, False)
        return Precision(torch.float32, torch.bfloat16 if bf16 else None, False)
    weights = DTYPES[torch_dtype]
    autocast = torch.bfloat16 if (weights == torch.bfloat16 or bf16) else None
    return Precision(weights, autocast, False)


def compute_dtype(name: str, precision: Precision) -> torch.dtype:
    """QLoRA's 4-bit compute dtype: ``auto`` follows the training precision."""
    if name == "auto":
        return precision.autocast or precision.weights
    return DTYPES[name]
