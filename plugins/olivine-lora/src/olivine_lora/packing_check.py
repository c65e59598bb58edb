"""Whether a model keeps packed samples apart, checked once on the model itself before training.

Packing several samples into one row relies on the model turning restarting ``position_ids`` (and no
attention mask) into a block-diagonal causal mask, as transformers' own mask builders do. A model
with its own attention code (remote code, older architectures) may let one sample attend to another
or count positions across the row: then packed and padded batches give different losses. One
forward of two short samples each way, dropout off, tells the two apart; a model that fails trains on
padded rows only, with a note.
"""

from __future__ import annotations

import torch

from olivine_lora.batching import IGNORE, Sample, _packed, _padded
from olivine_lora.loss import loss_sum

PROBE_TOKENS = 12  # per sample: long enough for attention across samples to move the loss
# Relative: a packed and a padded float32 forward differ by rounding only (~1e-6); 16-bit compute
# and 4-bit weights round more coarsely. Attention across samples moves the loss by far more.
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
    was_training = model.training
    model.eval()
    try:
        packed = loss_sum(model, _packed([probes], width, pad_id, tokens, targets).to(device), autocast).float()
        padded = loss_sum(model, _padded(probes, longest, pad_id, tokens, targets).to(device), autocast).float()
    finally:
        model.train(was_training)
    tolerance = COARSE_TOLERANCE if autocast is not None or quantized else TOLERANCE.get(dtype, COARSE_TOLERANCE)
    return bool(torch.isclose(packed, padded, rtol=tolerance, atol=tolerance))
