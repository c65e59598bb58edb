"""Keep bitsandbytes' 4-bit CPU weights trainable.

On CPUs with AVX512-BF16, bitsandbytes (0.46 to at least 0.50.2) repacks a ``Linear4bit`` weight into
an inference-only layout the first time the layer runs a forward in eval mode without grad. After
that, backward goes through a kernel with no autograd support: some LoRA gradients become exactly
zero (qkv_proj lora_B first) and training silently degrades. ``protect`` undoes any repack already
done and turns the repack off, so evaluation during training is safe.
"""

from __future__ import annotations

from typing import Any

import torch


def protect(model: torch.nn.Module) -> int:
    """Unpack repacked 4-bit weights and disable the repack on every Linear4bit; returns layers touched."""
    touched = 0
    for module in model.modules():
        if not _is_linear4bit(module):
            continue
        if hasattr(module, "support_avx512bf16_for_cpu"):
            # torch types every Module attribute as Tensor | Module; this one is bitsandbytes' bool flag.
            module.support_avx512bf16_for_cpu = False  # type: ignore[assignment]
        unpack(module)
        touched += 1
    return touched


def unpack(module: torch.nn.Module) -> bool:
    """Bring one repacked Linear4bit weight back to the trainable layout; True when it was repacked."""
    weight: Any = module.weight  # a bitsandbytes Params4bit: its quant_state is not in torch's types
    state = getattr(weight, "quant_state", None)
    if state is None or not getattr(state, "packing_format_for_cpu", False):
        return False
    from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

    weight.data, weight.quant_state = _convert_weight_packed_for_cpu_inverse(weight.data, state)
    return True


def repacked(model: torch.nn.Module) -> list[str]:
    """Names of Linear4bit layers whose weight is in the inference-only layout (for checks and tests)."""
    return [name for name, module in model.named_modules()
            if _is_linear4bit(module) and _repacked(module)]


def _repacked(module: torch.nn.Module) -> bool:
    return bool(getattr(getattr(module.weight, "quant_state", None), "packing_format_for_cpu", False))


def _is_linear4bit(module: torch.nn.Module) -> bool:
    # bitsandbytes' own layer (PEFT's LoRA wrapper around it shares the class name)
    return any(cls.__name__ == "Linear4bit" and cls.__module__.startswith("bitsandbytes")
               for cls in type(module).__mro__)


def has_avx512bf16() -> bool:
    """Whether bitsandbytes would repack 4-bit weights on this CPU."""
    try:
        # Only some bitsandbytes versions have it here.
        from bitsandbytes.utils import has_avx512bf16 as check  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        try:
            from bitsandbytes.nn.modules import has_avx512bf16 as check
        except ImportError:
            return False
    return bool(check())
