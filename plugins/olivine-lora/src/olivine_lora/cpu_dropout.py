"""LoRA dropout on CPU from 16-bit slices of PyTorch's own random stream.

``nn.Dropout`` on CPU draws one Mersenne-Twister number per element through a double-precision
Bernoulli sampler and then runs three more element-wise ops: on a small model it is a tenth of a
LoRA training step (the LoRA inputs are as wide as the model, the adapter is narrow). Here one draw
of 64 random bits from the same generator (``torch.manual_seed``, saved in checkpoints) yields four
uniform 16-bit integers, and an element is kept when its integer is at or above ``round(p * 65536)``:
four times fewer draws and integer ops only, about a quarter of the time. The keep probability is
``1 - round(p * 65536) / 65536`` (0.949997 for p = 0.05) and kept values are scaled by its exact
inverse, so the output's expectation is the input, as with ``nn.Dropout``. A ``p`` that 16 bits
cannot express within 0.1% (below about 0.015) keeps PyTorch's dropout, as do other devices.

``OLIVINE_CPU_DROPOUT``: ``fast`` (default) or ``torch`` (PyTorch's dropout, e.g. to repeat a run's
masks bit for bit with another tool).
"""

from __future__ import annotations

import os

import torch
from olivine import ConfigError

ENV = "OLIVINE_CPU_DROPOUT"
MODES = ("fast", "torch")
LEVELS = 1 << 16
MAX_RELATIVE_ERROR = 1e-3  # how far the 16-bit drop probability may be from the configured one


def mode_from_env() -> str:
    value = os.environ.get(ENV, "fast").strip().lower() or "fast"
    if value not in MODES:
        raise ConfigError(ENV, f"{value!r} is not one of {', '.join(MODES)}")
    return value


def expressible(p: float) -> bool:
    """Whether 16-bit thresholds give ``p`` within MAX_RELATIVE_ERROR (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        return False
    drop = round(p * LEVELS)
    return 0 < drop < LEVELS and abs(drop / LEVELS - p) <= MAX_RELATIVE_ERROR * p


class SlicedDropout(torch.nn.Dropout):
    """``nn.Dropout`` whose CPU training masks come from 16-bit slices of the generator's 64-bit draws."""

    def __init__(self, original: torch.nn.Dropout):
        super().__init__(original.p, original.inplace)
        self.train(original.training)
        drop = round(original.p * LEVELS)
        # Signed 16-bit slices are uniform over [-32768, 32767]; the lowest `drop` of them are dropped.
        self._floor = drop - LEVELS // 2
        self._scale = LEVELS / (LEVELS - drop)
        self._original = (original,)  # a tuple, so that it is not registered as a submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.device.type != "cpu" or x.numel() == 0:
            return super().forward(x)
        draws = torch.empty((x.numel() + 3) // 4, dtype=torch.int64).random_(-(1 << 63), None)
        slices = draws.view(torch.int16)[:x.numel()].view(x.shape)
        keep = slices.clamp(self._floor - 1, self._floor).sub_(self._floor - 1)  # 0 dropped, 1 kept
        mask = torch.mul(keep, self._scale) if x.dtype == torch.float32 else keep.to(x.dtype).mul_(self._scale)
        return x * mask

    def original(self) -> torch.nn.Dropout:
        return self._original[0]


def install(model: torch.nn.Module) -> int:
    """Swap the LoRA layers' CPU dropouts for SlicedDropout; returns how many were swapped."""
    swapped = 0
    for holder in list(_dropout_dicts(model)):
        for name, module in list(holder.items()):
            if type(module) is torch.nn.Dropout and not module.inplace and expressible(module.p):
                holder[name] = SlicedDropout(module)
                swapped += 1
    return swapped


def uninstall(model: torch.nn.Module) -> None:
    """Put back the dropouts install swapped (their training flag follows the model's)."""
    for holder in list(_dropout_dicts(model)):
        for name, module in list(holder.items()):
            if isinstance(module, SlicedDropout):
                original = module.original()
                original.train(module.training)
                holder[name] = original


def _dropout_dicts(model: torch.nn.Module):
    # peft keeps each LoRA layer's dropout per adapter in a ModuleDict named lora_dropout
    for module in model.modules():
        holder = getattr(module, "lora_dropout", None)
        if isinstance(holder, torch.nn.ModuleDict):
            yield holder
