"""How much of the GPU's peak bf16 throughput the training used: the report's ``train_share_of_peak_bf16``.

Counted per token as 4 x the frozen linear parameters (forward plus input gradients: the base gets no
weight gradients) plus causal attention (3 x 2 x length x hidden x layers), the count bench/gpu_lora.py
uses. A card not in the table gives no figure rather than a guess.
"""

from __future__ import annotations

from typing import Any

# Dense bf16 peak of each card, by a name fragment torch.cuda.get_device_name() contains.
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "H800": 989e12, "A100": 312e12, "A800": 312e12, "L40S": 362e12,
             "L40": 181e12, "A10": 125e12, "L4": 121e12, "RTX 4090": 165e12}


def peak_bf16(device_name: str) -> float | None:
    return next((value for key, value in PEAK_BF16.items() if key in device_name), None)


def flops_per_token(model: Any, mean_length: float) -> float:
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    linear = sum(m.weight.numel() for name, m in base.named_modules()
                 if isinstance(m, torch.nn.Linear) and "lora_" not in name)
    cfg = base.config
    return 4 * linear + 3 * 2 * mean_length * cfg.hidden_size * cfg.num_hidden_layers


def share_of_peak(model: Any, tokens_per_second_per_gpu: float, mean_length: float) -> float | None:
    """The fraction of this process's GPU peak that the measured rate represents; None off CUDA or unknown cards."""
    import torch

    if not torch.cuda.is_available():
        return None
    peak = peak_bf16(torch.cuda.get_device_name(torch.cuda.current_device()))
    if peak is None:
        return None
    return tokens_per_second_per_gpu * flops_per_token(model, mean_length) / peak
