"""Which samples each optimizer step sees, and how they become tensors with little padding.

A step's samples are fixed by (data seed, epoch, position), so a resumed run sees exactly what an
uninterrupted one would. Within a step the order of samples does not change the loss (a sum over
target tokens), so samples are sorted by length and packed several to a row (each attending only to
itself) when that costs less than padding them: the linear layers' work grows with a row's width,
attention's with its square, so short samples share one row and long ones keep their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass(frozen=True)
class Sample:
    ids: list[int]
    targets: list[int]  # targets[i] is the token predicted at position i (IGNORE: no loss there)

    @property
    def n_targets(self) -> int:
        return sum(1 for t in self.targets if t != IGNORE)


def to_samples(examples: list[dict]) -> list[Sample]:
    """Drop padding (attention_mask 0) and shift labels so that packing never mixes two samples' labels."""
    samples = []
    for ex in examples:
        ids, labels = list(ex["input_ids"]), list(ex.get("labels", ex["input_ids"]))
        mask = ex.get("attention_mask")
        if mask is not None:
            keep = len(mask)
            while keep and mask[keep - 1] == 0:
                keep -= 1
            ids, labels = ids[:keep], labels[:keep]
        if len(ids) < 2:
            continue
        samples.append(Sample(ids, labels[1:] + [IGNORE]))
    return samples


def epoch_order(n: int, epoch: int, seed: int, strategy: str, lengths: list[int], batch_size: int) -> list[int]:
    if strategy == "sequential":
        return list(range(n))
    generator = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    if strategy == "group_by_length":
        # As the Trainer's LengthGroupedSampler: sort within mega-batches of 50 batches, longest first.
        mega = 50 * batch_size
        groups = [sorted(order[i:i + mega], key=lambda j: -lengths[j]) for i in range(0, n, mega)]
        order = [j for group in groups for j in group]
    return order


class StepPlan:
    """The sample indices of every optimizer step, derived on demand."""

    def __init__(self, samples: list[Sample], settings, strategy: str, drop_last: bool):
        self.samples = samples
        self.settings = settings
        self.strategy = strategy
        self.drop_last = drop_last
        self.lengths = [len(s.ids) for s in samples]
        self._epoch: tuple[int, list[int]] | None = None

    def indices(self, step: int) -> list[int]:
        s = self.settings
        epoch, position = divmod(step, s.steps_per_epoch)
        order = self._order(epoch)
        begin = position * s.effective_batch
        chunk = order[begin:begin + s.effective_batch]
        if self.drop_last:
            micro = s.batch_size * getattr(s, "world_size", 1)  # a micro-batch spans every process
            chunk = chunk[:len(chunk) - len(chunk) % micro]
        return chunk

    def epoch_of(self, step: int) -> int:
        return step // self.settings.steps_per_epoch

    def _order(self, epoch: int) -> list[int]:
        if self._epoch is None or self._epoch[0] != epoch:
            order = epoch_order(len(self.samples), epoch, self.settings.data_seed, self.strategy, self.lengths,
                                self.settings.batch_size)
            self._epoch = (epoch, order)
        return self._epoch[1]


@dataclass
class Batch:
    input_ids: torch.Tensor
    targets: torch.Tensor
    position_ids: torch.Tensor | None
    attention_mask: torch.Tensor | None
    tokens: int  # real (non-padding) tokens
    n_targets: int

    def to(self, device: str) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(self.input_ids.to(device, non_blocking=True), self.targets.to(device, non_blocking=True),
                     move(self.position_ids), move(self.attention_mask),
                     self.tokens, self.n_targets)


def split(samples: list[Sample], parts: int) -> list[list[Sample]]:
    """``parts`` groups of similar length (sorted), each with about the same number of tokens."""
    ordered = sorted(samples, key=lambda s: -len(s.ids))
    parts = max(1, min(parts, len(ordered)))
    total = sum(len(s.ids) for s in ordered)
    groups: list[list[Sample]] = [[]]
    filled = 0
    for sample in ordered:
        boundary = total * len(groups) / parts
        if groups[-1] and filled >= boundary and len(groups) < parts:
            groups.append([])
        groups[-1].append(sample)
        filled += len(sample.ids)
    return groups


def attention_cost(config) -> float:
    """Attention's cost per token per position of its row, relative to the linear layers' per token.

    Per token and layer, the linear layers take about 2 x (4 h^2 + 3 h i) FLOPs (attention's
    projections and a gated MLP of width i) and attention 4 h per position of the row it attends over.
    """
    hidden = getattr(config, "hidden_size", None) or 1024
    inter = getattr(config, "intermediate_size", None) or 4 * hidden
    return 2.0 / (4 * hidden + 3 * inter)


def collate(samples: list[Sample], pad_id: int, attention: float = 0.0, pack: bool = True,
            block_mask: int = 0) -> Batch:
    """The cheapest layout of ``samples``: padded rows, or packed rows as wide as the longest sample or wider.

    ``attention`` is :func:`attention_cost` (0: attention is free, so everything shares one row);
    ``pack`` False pads every sample to the longest (a model that cannot keep packed samples apart);
    ``block_mask``: packed rows up to this width carry their block-diagonal causal mask (see :func:`_packed`).
    """
    longest = max(len(s.ids) for s in samples)
    tokens = sum(len(s.ids) for s in samples)
    n_targets = sum(s.n_targets for s in samples)
    best, best_rows, best_width = len(samples) * _row_cost(longest, attention), None, longest
    capacity = longest
    while pack and len(samples) > 1:
        rows = _first_fit(samples, capacity)
        width = max(sum(len(s.ids) for s in row) for row in rows)
        cost = len(rows) * _row_cost(width, attention)
        if cost < best:
            best, best_rows, best_width = cost, rows, width
        if len(rows) == 1:
            break
        capacity = min(2 * capacity, tokens)
    if best_rows is not None:
        return _packed(best_rows, best_width, pad_id, tokens, n_targets, block_mask)
    return _padded(samples, longest, pad_id, tokens, n_targets)


def _row_cost(width: int, attention: float) -> float:
    return width * (1.0 + attention * width)


def _first_fit(samples: list[Sample], capacity: int) -> list[list[Sample]]:
    rows: list[list[Sample]] = []
    space: list[int] = []
    for sample in sorted(samples, key=lambda s: -len(s.ids)):
        size = len(sample.ids)
        for i, free in enumerate(space):
            if free >= size:
                rows[i].append(sample)
                space[i] -= size
                break
        else:
            rows.append([sample])
            space.append(capacity - size)
    return rows


def _packed(rows: list[list[Sample]], width: int, pad_id: int, tokens: int, n_targets: int,
            block_mask: int = 0) -> Batch:
    """Samples side by side in rows, position ids restarting at each.

    With no attention mask, transformers finds the samples' boundaries from the restarting position ids
    and builds the block-diagonal causal mask itself, every forward; when ``width <= block_mask`` (a
    model that takes a boolean 4D mask as it is, :func:`block_mask_width`), the mask is built here, once.
    """
    ids: list[int] = []
    targets: list[int] = []
    positions: list[int] = []
    for row in rows:
        used = sum(len(sample.ids) for sample in row)
        for sample in row:
            ids += sample.ids
            targets += sample.targets
            positions += range(len(sample.ids))
        # trailing padding forms its own segment, so no real token attends to it
        ids += [pad_id] * (width - used)
        targets += [IGNORE] * (width - used)
        positions += range(width - used)
    shape = (len(rows), width)
    position_ids = torch.tensor(positions).view(shape)
    mask = _block_causal(position_ids) if 0 < width <= block_mask else None
    return Batch(torch.tensor(ids).view(shape), torch.tensor(targets).view(shape), position_ids, mask, tokens,
                 n_targets)


def _block_causal(position_ids: torch.Tensor) -> torch.Tensor:
    """(rows, 1, width, width) booleans: position i attends to j when both are in one segment and j <= i.

    A segment (a sample, or the trailing padding) starts wherever the position ids restart at 0.
    """
    width = position_ids.shape[1]
    segments = (position_ids == 0).cumsum(-1)
    same = segments.unsqueeze(2) == segments.unsqueeze(1)
    return (same & torch.ones(width, width, dtype=torch.bool).tril_()).unsqueeze(1)


def block_mask_width(config) -> int:
    """The widest packed row whose mask may be built by :func:`_packed` for a model with ``config``; 0: none.

    SDPA attention takes a boolean 4D mask as it is, and it equals what transformers would build from the
    position ids when every layer is plain or sliding-window causal attention and the row fits the window.
    Other attention implementations read masks differently (eager adds a float mask) and are left alone.
    """
    if getattr(config, "_attn_implementation", None) != "sdpa" or getattr(config, "attention_chunk_size", None):
        return 0
    if any(kind not in ("full_attention", "sliding_attention") for kind in getattr(config, "layer_types", None) or ()):
        return 0
    window = getattr(config, "sliding_window", None)
    return window if isinstance(window, int) and window > 0 else 1 << 30


def _padded(samples: list[Sample], width: int, pad_id: int, tokens: int, n_targets: int) -> Batch:
    """One sample per row, padded on the right, with no attention mask: under causal attention no real
    token sees the padding after it, so its outputs are those a padding mask would give, and the model
    takes its plain causal path (no mask to build, the unmasked attention kernel). Padding positions
    carry no target, so they add nothing to the loss or the gradient."""
    ids: list[int] = []
    targets: list[int] = []
    for sample in samples:
        ids += sample.ids + [pad_id] * (width - len(sample.ids))
        targets += sample.targets + [IGNORE] * (width - len(sample.ids))
    shape = (len(samples), width)
    return Batch(torch.tensor(ids).view(shape), torch.tensor(targets).view(shape), None, None, tokens, n_targets)


def micro_batches(samples: list[Sample], tokens_per_forward: int) -> int:
    """How many forwards a step needs so that none exceeds ``tokens_per_forward`` padded tokens."""
    longest = max(len(s.ids) for s in samples)
    padded = longest * len(samples)
    return max(1, math.ceil(padded / max(tokens_per_forward, longest)))
