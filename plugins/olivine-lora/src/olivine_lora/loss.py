"""Summed cross-entropy over target tokens, computing vocabulary logits only where a label exists.

With completion-only data most positions carry no label; projecting only the labelled hidden states
through the output layer skips most of its work (a large share at small depth) without changing the
loss. Architectures that post-process logits (soft-capping, scaling) take the plain forward.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from olivine_lora.batching import IGNORE, Batch

_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")


def selective_head(base) -> bool:
    """True when logits = lm_head(decoder(...)) exactly, so the head may run on selected positions only."""
    if not (hasattr(base, "model") and hasattr(base, "lm_head")):
        return False
    return all(getattr(base.config, name, None) in (None, 1, 1.0) for name in _LOGIT_TRANSFORMS)


def loss_sum(model, batch: Batch, autocast: torch.dtype | None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Sum of token losses in ``batch`` (divide by the step's target count for the Trainer's mean)."""
    base = model.get_base_model()
    select = batch.targets != IGNORE
    kwargs = model_inputs(batch)
    with autocast_for(batch, autocast):
        if selective_head(base):
            hidden = base.model(**kwargs).last_hidden_state
            logits = base.lm_head(hidden[select])
        else:
            logits = model(**kwargs).logits[select]
    return F.cross_entropy(logits.float(), batch.targets[select], reduction="sum", label_smoothing=label_smoothing)


def model_inputs(batch: Batch) -> dict:
    """The forward's keyword arguments for ``batch`` (packed rows: restarting position ids, and their
    block-diagonal mask where batching built it)."""
    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
            "position_ids": batch.position_ids, "use_cache": False}


def autocast_for(batch: Batch, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on the batch's device; nothing when None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=batch.input_ids.device.type, dtype=dtype)
