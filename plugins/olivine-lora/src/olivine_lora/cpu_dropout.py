"""LoRA dropout on CPU with masks from a counter-based generator: the same distribution, half the cost.

PyTorch's CPU dropout draws one Mersenne-Twister float per element (about 4 ns each), which at small
widths is a tenth of a LoRA step: every adapted layer draws a mask over its input. Here each step's
masks come from NumPy's PCG64 keyed by (seed, step): 32 random bits per element (about 0.5 ns),
an element kept when its bits are at or above ``p * 2**32``, so the keep probability is ``1 - p``
to within 2**-32 (PyTorch's float draw resolves 2**-24), and kept values are scaled by
``1 / (1 - p)`` as ``nn.Dropout`` does. Keying by step makes a resumed run draw the masks an
unbroken one would, with no generator state to checkpoint.

Not used where a forward runs twice and must draw the same masks (activation checkpointing
recomputes it), nor on CUDA, whose dropout is already fast.
"""

from __future__ import annotations

import numpy as np
import torch


class MaskSource:
    """Random bits for the current step's masks."""

    def __init__(self, seed: int):
        self.seed = seed
        self._generator = np.random.Generator(np.random.PCG64([seed, 0]))

    def begin_step(self, step: int) -> None:
        self._generator = np.random.Generator(np.random.PCG64([self.seed, step]))

    def bits(self, count: int) -> np.ndarray:
        return self._generator.bit_generator.random_raw((count + 1) // 2).view(np.uint32)[:count]


class StepDropout(torch.nn.Module):
    """``nn.Dropout(p)`` with its masks from a :class:`MaskSource`."""

    def __init__(self, p: float, source: MaskSource):
        super().__init__()
        self.p = p
        self.source = source
        self.threshold = np.uint32(min(round(p * 2**32), 2**32 - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.from_numpy(self.source.bits(x.numel()) >= self.threshold).view(x.shape)
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def install(model: torch.nn.Module, seed: int) -> MaskSource | None:
    """Swap the LoRA dropout modules of a PEFT model for StepDropout; None when it has none with p > 0."""
    source = MaskSource(seed)
    swapped = False
    for module in model.modules():
        table = getattr(module, "lora_dropout", None)
        if not isinstance(table, torch.nn.ModuleDict):
            continue
        for name, dropout in list(table.items()):
            if type(dropout) is torch.nn.Dropout and dropout.p > 0:
                table[name] = StepDropout(dropout.p, source)
                swapped = True
    return source if swapped else None


def uninstall(model: torch.nn.Module) -> None:
    """Put ``nn.Dropout`` back, so the model leaves training as PEFT built it."""
    for module in model.modules():
        table = getattr(module, "lora_dropout", None)
        if isinstance(table, torch.nn.ModuleDict):
            for name, dropout in list(table.items()):
                if isinstance(dropout, StepDropout):
                    table[name] = torch.nn.Dropout(dropout.p)
