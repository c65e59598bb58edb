"""Whether a model keeps packed samples apart, checked once on the model itself before training.

Packing several samples into one row relies on the model turning restarting ``position_ids`` (and no
attention mask) into a block-diagonal causal mask, as transformers' own mask builders do, or on it
reading the block-diagonal mask built for SDPA models (``batching.block_mask_width``) as it is. A model
with its own attention code (remote code, older architectures) may let one sample attend to another
or count positions across the row, and a convolution over the sequence (LFM2's short convolutions)
reads the previous sample's last tokens: then packed and padded batches give different per-token
log-probabilities. One forward of two short samples each way, dropout off, tells the two apart; a
model that fails trains on padded rows only, with a note.
"""

from __future__ import annotations

import torch

from olivine_lora.batching import IGNORE, Sample, _packed, _padded, block_mask_width
from olivine_lora.loss import autocast_for, model_inputs

PROBE_TOKENS = 12  # per sample: long enough for attention across samples to move the loss
# Per-token log-probabilities: a packed and a padded float32 forward differ by rounding only (~1e-6);
# 16-bit compute and 4-bit weights round more coarsely. A leak moves them by 1e-3 and more even in a
# tiny random model (LFM2's convolution: 2e-3).
TOLERANCE = {torch.float32: 1e-4}
COARSE_TOLERANCE = 1e-2


def probe_samples(samples: list[Sample]) -> list[Sample] | None:
    """Two samples' first tokens, every position a target; None without two samples of 3 tokens."""
    usable = [s for s in samples if len(s.ids) >= 3][:2]
    if len(usable) < 2:
        return None
    probes = []
    for sample in usable:
        ids = sample.ids[:PROBE_TOKENS]
        probes.append(Sample(ids, ids[1:] + [IGNORE]))
    return probes


@torch.no_grad()
def keeps_samples_apart(model, samples: list[Sample], pad_id: int, device: str, autocast, dtype: torch.dtype,
                        quantized: bool) -> bool:
    probes = probe_samples(samples)
    if probes is None:
        return True  # nothing to pack
    width = sum(len(s.ids) for s in probes)
    tokens, targets = width, sum(s.n_targets for s in probes)
    longest = max(len(s.ids) for s in probes)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    block_mask = block_mask_width(base.config)  # the packed rows as training will build them
    was_training = model.training
    model.eval()
    try:
        packed = _token_log_probs(model, _packed([probes], width, pad_id, tokens, targets, block_mask).to(device),
                                  autocast)
        padded = _token_log_probs(model, _padded(probes, longest, pad_id, tokens, targets).to(device), autocast)
    finally:
        model.train(was_training)
    in_rows = torch.cat([padded[i, :len(s.ids)] for i, s in enumerate(probes)])
    tolerance = COARSE_TOLERANCE if autocast is not None or quantized else TOLERANCE.get(dtype, COARSE_TOLERANCE)
    # Per token, not summed: a leak through a short convolution (LFM2) moves only a sample's first tokens.
    return bool((packed[0] - in_rows).abs().max() <= tolerance)


def _token_log_probs(model, batch, autocast) -> torch.Tensor:
    """The log-probability of each position's next token, as the loss sees it: (rows, width)."""
    with autocast_for(batch, autocast):
        logits = model(**model_inputs(batch)).logits.float()
    chosen = batch.targets.clamp(min=0).unsqueeze(-1)
    return logits.log_softmax(-1).gather(-1, chosen).squeeze(-1)
