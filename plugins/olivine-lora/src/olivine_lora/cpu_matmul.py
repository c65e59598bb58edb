"""Frozen linear layers on CPU: the default BLAS or oneDNN, whichever is faster here, chosen by timing.

LoRA training on CPU spends nine tenths of a step in the frozen base layers' matrix products (the
forward, and the input gradient of the backward). PyTorch sends float32 products to MKL's sgemm,
which on some CPUs (AMD EPYC among them) runs well below the oneDNN kernels the same build ships:
1.3-1.7x slower at Phi-3-mini's layer shapes. Neither is faster everywhere, and at small widths
oneDNN's per-call cost loses, so the first calls of each weight shape and direction alternate between
the two on the real training data and the rest use the faster one. Both compute in float32
(results differ by rounding only, about 1e-7 relative); the choice is in the pass report.

``OLIVINE_CPU_MATMUL``: ``auto`` (default), ``default`` (always the default BLAS, e.g. for runs that
must repeat bit for bit on one machine) or ``onednn`` (always oneDNN where it applies).
"""

from __future__ import annotations

import os
import statistics
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from olivine import ConfigError

ENV = "OLIVINE_CPU_MATMUL"
CHOOSER = "_olivine_chooser"  # the attribute a routed layer keeps its Chooser in
MODES = ("auto", "default", "onednn")
MIN_WEIGHT_ELEMENTS = 1 << 20  # below about 1024 x 1024, per-call overhead decides, and the default wins
TRIALS = 3  # timed calls per implementation, after one untimed warm-up call of each
MARGIN = 0.9  # oneDNN must take at most 90% of the default's time per call to be chosen


def mode_from_env() -> str:
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ConfigError(ENV, f"{value!r} is not one of {', '.join(MODES)}")
    return value


def onednn_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


Product = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
IMPLEMENTATIONS: dict[str, Product] = {"default": F.linear, "onednn": _onednn}


@dataclass
class _Trial:
    """Alternating timed calls of both implementations for one weight shape and direction."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {"default": [], "onednn": []})
    calls: int = 0
    chosen: str | None = None
    speedup: float | None = None


class Chooser:
    """Runs each product with the implementation chosen (or on trial) for its shape and direction."""

    def __init__(self, mode: str):
        self.mode = mode
        self.trials: dict[tuple[str, int, int], _Trial] = {}
        self.used: set[tuple[str, int, int]] = set()  # shapes run under a forced mode

    def settled_default(self, shape: tuple[int, int]) -> bool:
        """True when both directions of ``shape`` chose the default: the layer can run natively."""
        return all((trial := self.trials.get((d, *shape))) is not None and trial.chosen == "default"
                   for d in ("forward", "input_grad"))

    def run(self, direction: str, shape: tuple[int, int], x: torch.Tensor, weight: torch.Tensor,
            bias: torch.Tensor | None) -> torch.Tensor:
        if self.mode != "auto":
            self.used.add((direction, *shape))
            return IMPLEMENTATIONS[self.mode](x, weight, bias)
        trial = self.trials.setdefault((direction, *shape), _Trial())
        if trial.chosen is not None:
            return IMPLEMENTATIONS[trial.chosen](x, weight, bias)
        name = ("default", "onednn")[trial.calls % 2]
        began = time.perf_counter()
        out = IMPLEMENTATIONS[name](x, weight, bias)
        elapsed = time.perf_counter() - began
        if trial.calls >= 2:  # the first call of each is a warm-up (allocations, oneDNN's kernel creation)
            trial.seconds[name].append(elapsed / max(x.numel() // x.shape[-1], 1))  # per row: shapes vary
        trial.calls += 1
        if trial.calls >= 2 * (TRIALS + 1):
            default, onednn = (statistics.median(trial.seconds[n]) for n in ("default", "onednn"))
            trial.chosen = "onednn" if onednn <= MARGIN * default else "default"
            trial.speedup = default / onednn if onednn > 0 else None
        return out

    def summary(self) -> dict[str, str]:
        """``{"9216x3072 forward": "onednn, oneDNN 1.52x the default", ...}`` for the pass report."""
        out = {f"{rows}x{cols} {direction.replace('_', ' ')}": f"{self.mode} ({ENV})"
               for direction, rows, cols in sorted(self.used)}
        for (direction, rows, cols), trial in sorted(self.trials.items()):
            if trial.chosen is None:
                continue
            ratio = f", oneDNN {trial.speedup:.2f}x the default" if trial.speedup else ""
            out[f"{rows}x{cols} {direction.replace('_', ' ')}"] = f"{trial.chosen}{ratio}"
        return out


class _FrozenLinear(torch.autograd.Function):
    """y = x W^T + b with W and b frozen: the backward computes the input's gradient only."""

    @staticmethod
    def forward(ctx, x, weight, bias, chooser: Chooser, shape: tuple[int, int]):
        ctx.save_for_backward(weight)
        ctx.chooser, ctx.shape = chooser, shape
        return chooser.run("forward", shape, x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[0]:
            return None, None, None, None, None
        (weight,) = ctx.saved_tensors
        # grad @ W, as a linear layer whose weight is W^T (a view; nothing copied)
        return ctx.chooser.run("input_grad", ctx.shape, grad.contiguous(), weight.t(), None), None, None, None, None


def install(model: torch.nn.Module, mode: str) -> Chooser | None:
    """Route the frozen float32 ``nn.Linear`` layers of ``model`` through a Chooser; None when none qualify."""
    if mode == "default" or not onednn_available():
        return None
    layers = [m for m in model.modules() if _qualifies(m, mode)]
    if not layers:
        return None
    chooser = Chooser(mode)
    for layer in layers:
        layer.forward = types.MethodType(_forward, layer)
        setattr(layer, CHOOSER, chooser)  # a plain attribute: nn.Module keeps it in __dict__
    return chooser


def uninstall(model: torch.nn.Module) -> None:
    for layer in model.modules():
        if CHOOSER in layer.__dict__:
            del layer.forward
            delattr(layer, CHOOSER)


def _qualifies(module: torch.nn.Module, mode: str) -> bool:
    if type(module) is not torch.nn.Linear:  # subclasses (quantized, LoRA-wrapped) keep their own forward
        return False
    weight, bias = module.weight, module.bias
    frozen = not weight.requires_grad and (bias is None or not bias.requires_grad)
    plain = weight.device.type == "cpu" and weight.dtype == torch.float32 and type(weight) is torch.nn.Parameter
    big = mode == "onednn" or weight.numel() >= MIN_WEIGHT_ELEMENTS
    return frozen and plain and big


def _forward(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    chooser = cast(Chooser, self.__dict__[CHOOSER])
    shape = (self.out_features, self.in_features)
    if x.dtype != torch.float32 or torch.is_autocast_enabled("cpu") or chooser.settled_default(shape):
        return F.linear(x, self.weight, self.bias)
    return _FrozenLinear.apply(x, self.weight, self.bias, chooser, shape)
