"""Optimizer and learning-rate schedule from training_args, as the Hugging Face Trainer builds them."""

from __future__ import annotations

import torch

# AdamW variants whose difference is memory layout, paging or kernels, not the update rule.
ADAMW = {"adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw_apex_fused", "adamw_anyprecision",
         "paged_adamw_32bit", "paged_adamw_8bit", "adamw_bnb_8bit", "adamw_8bit", "adamw_torch_8bit",
         "adamw_torch_4bit", "adamw_torch_npu_fused", "adamw_torch_xla"}


def optimizer(model, args, device: str, notes: list[str]) -> torch.optim.Optimizer:
    groups = _param_groups(model, args.weight_decay)
    name = args.optim
    if name == "sgd":
        return torch.optim.SGD(groups, lr=args.learning_rate)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(groups, lr=args.learning_rate, scale_parameter=False, relative_step=False)
    if name not in ADAMW:
        notes.append(f"training_args.optim={name} is not available in olivine's loop; using AdamW")
    elif name not in ("adamw_torch", "adamw_torch_fused"):
        notes.append(f"training_args.optim={name}: same update as AdamW, run as 32-bit fused AdamW")
    return torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                             eps=args.adam_epsilon, fused=_fused_ok(groups, device))


def _param_groups(model, weight_decay: float) -> list[dict]:
    # As the Trainer: no decay on biases and normalization weights (1-D parameters).
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or name.endswith(".bias") else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def _fused_ok(groups: list[dict], device: str) -> bool:
    params = [p for g in groups for p in g["params"]]
    return device in ("cuda", "cpu") and all(p.is_floating_point() for p in params)


def scheduler(opt: torch.optim.Optimizer, args, warmup: int, total: int, notes: list[str]):
    from transformers import get_scheduler

    name = str(args.lr_scheduler_type)
    if name == "greedy":
        notes.append("training_args.lr_scheduler_type=greedy is not available in olivine's loop; using constant")
        name = "constant"
    return get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total,
                         scheduler_specific_kwargs=args.lr_scheduler_kwargs or {})
