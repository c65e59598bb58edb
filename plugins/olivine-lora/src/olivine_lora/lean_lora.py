"""A plain LoRA linear layer's training forward in three ops on CPU.

peft's ``lora.Linear.forward`` serves every case (several adapters, mixed batches, DoRA and other
variants, merged weights, casts), so a plain one-adapter layer pays for checks and dictionary lookups
on every call, then runs ``base(x) + lora_B(lora_A(dropout(x))) * scaling`` as five autograd ops. On
a small model that overhead is a sizeable share of a step. For the layers where nothing but the
plain case can happen, the forward here computes the same sum as ``base(x)``, ``lora_A`` and one
``addmm`` that adds ``scaling * h @ B^T`` to the base output: the same values up to float rounding
(the scale is applied inside the product). Anything else (extra arguments, adapters switched,
disabled or merged, an input of another dtype) goes to peft's own forward.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F

LEAN = "_olivine_lean"  # the attribute a patched layer keeps its adapter name in


def install(model: torch.nn.Module) -> int:
    """Give every plain one-adapter ``peft`` LoRA Linear the lean forward; returns how many."""
    from peft.tuners.lora.layer import Linear

    patched = 0
    for module in model.modules():
        if type(module) is Linear and _plain(module):
            setattr(module, LEAN, next(iter(module.lora_A.keys())))
            module.forward = types.MethodType(_forward, module)  # type: ignore[method-assign]
            patched += 1
    return patched


def uninstall(model: torch.nn.Module) -> None:
    for module in model.modules():
        if LEAN in module.__dict__:
            del module.__dict__["forward"]
            del module.__dict__[LEAN]


def _plain(layer) -> bool:
    if len(layer.lora_A) != 1 or layer.merged or getattr(layer, "fan_in_fan_out", False):
        return False
    name = next(iter(layer.lora_A.keys()))
    lora_a, lora_b, base = layer.lora_A[name], layer.lora_B[name], layer.get_base_layer()
    return (name not in getattr(layer, "lora_variant", {}) and type(lora_a) is torch.nn.Linear
            and type(lora_b) is torch.nn.Linear and lora_a.bias is None and lora_b.bias is None
            and type(base) is torch.nn.Linear and base.weight.dtype == lora_a.weight.dtype == lora_b.weight.dtype)


def _forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    name = getattr(self, LEAN)
    weight_a = self.lora_A[name].weight
    if args or kwargs or self.disable_adapters or self.merged or self.active_adapters != [name] \
            or x.dtype != weight_a.dtype:
        return type(self).forward(self, x, *args, **kwargs)
    result = self.base_layer(x)
    hidden = F.linear(self.lora_dropout[name](x), weight_a)
    out = torch.addmm(result.reshape(-1, result.shape[-1]), hidden.reshape(-1, hidden.shape[-1]),
                      self.lora_B[name].weight.t(), alpha=self.scaling[name])
    return out.view(result.shape)
