"""One optimizer step over an effective batch, in as few forwards as memory allows.

The Trainer runs ``gradient_accumulation_steps`` forwards of ``per_device_train_batch_size`` samples
and divides the summed token loss by the target tokens of the whole effective batch. Here the same
samples and the same division run as one forward when they fit a token budget (fewer, larger
matmuls), or as several when they do not: the gradient is the same sum either way.
"""

from __future__ import annotations

import os

import torch

from olivine_lora import batching
from olivine_lora.loss import loss_sum


def token_budget(model, device: str, checkpointing: bool) -> int:
    """Tokens one forward may hold: a share of free memory over an estimate of activation bytes per token."""
    cfg = model.get_base_model().config
    hidden = getattr(cfg, "hidden_size", 1024)
    inter = getattr(cfg, "intermediate_size", 4 * hidden)
    layers = getattr(cfg, "num_hidden_layers", 24)
    vocab = getattr(cfg, "vocab_size", 32000)
    elem = 2 if device == "cuda" else 4
    per_layer = (10 * hidden + 4 * inter) * elem
    per_token = (layers * hidden * elem + per_layer if checkpointing else layers * per_layer) + 12 * vocab
    free = _free_memory(device)
    return max(int(free / per_token), 256)


def _free_memory(device: str) -> float:
    if device == "cuda":
        return torch.cuda.mem_get_info()[0] * 0.6
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        available = 8 << 30
    return min(available * 0.25, 16 << 30)


class Stepper:
    """Forward, backward and update for one effective batch; shrinks its forwards after a CUDA OOM."""

    def __init__(self, model, optimizer, scheduler, precision, device: str, pad_id: int, args, budget: int,
                 notes: list[str], world=None, pack: bool = True):
        self.model = model
        self.world = world  # parallel.World when several processes train together, else None
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.precision = precision
        self.device = device
        self.pad_id = pad_id
        self.args = args
        self.budget = budget
        self.notes = notes
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.scaler = torch.amp.GradScaler("cuda") if precision.grad_scaling else None
        self.per_step_scheduler = not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        self.forwards = 0
        config = model.get_base_model().config
        self.attention = batching.attention_cost(config)
        self.pack = pack  # False when the model cannot keep packed samples apart (packing_check)
        self.block_mask = batching.block_mask_width(config)

    def collate(self, samples: list[batching.Sample]) -> batching.Batch:
        return batching.collate(samples, self.pad_id, self.attention, self.pack, self.block_mask).to(self.device)

    def step(self, samples: list[batching.Sample]) -> torch.Tensor:
        """Train on ``samples``; returns the step's mean target-token loss (a 0-d tensor, not synced)."""
        n_targets = max(sum(s.n_targets for s in samples), 1)
        if self.world is not None:
            return self._shard_step(samples, n_targets)
        parts = batching.micro_batches(samples, self.budget)
        while True:
            try:
                return self._step(samples, parts, n_targets)
            except torch.cuda.OutOfMemoryError:
                if parts >= len(samples):
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                parts = min(parts * 2, len(samples))
                self.budget = max(self.budget // 2, 1)
                self.notes.append(f"out of memory: now {parts} forwards per step")

    def _step(self, samples, parts: int, n_targets: int) -> torch.Tensor:
        total = torch.zeros((), device=self.device)
        for group in batching.split(samples, parts):
            batch = self.collate(group)
            loss = loss_sum(self.model, batch, self.precision.autocast, self.args.label_smoothing_factor) / n_targets
            (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += loss.detach()
            self.forwards += 1
        self._update()
        return total

    def _shard_step(self, samples, n_targets: int) -> torch.Tensor:
        """This rank's share of the global batch; returns its part of the global mean loss (ranks sum to it)."""
        world = self.world
        groups = self._groups(world.shard(samples), self.budget)
        total = torch.zeros((), device=self.device)
        for i, group in enumerate(groups):
            with world.sync(i == len(groups) - 1):
                # A rank with fewer forwards than the others runs a weightless one: FSDP2 gathers weights
                # in every forward and DDP exchanges gradients on the last, so all ranks must match.
                batch = self.collate(group or samples[:1])
                loss = world.forward(batch, self.precision.autocast, self.args.label_smoothing_factor) / n_targets
                if not group:
                    loss = loss * 0
                (self.scaler.scale(loss * world.size) if self.scaler else loss * world.size).backward()
            total += loss.detach()
            self.forwards += 1
        self._update()
        return total

    def _groups(self, mine: list[batching.Sample], budget: int) -> list[list[batching.Sample]]:
        """``mine`` split into as many forwards as the rank that needs the most."""
        parts = batching.micro_batches(mine, budget) if mine else 1
        groups = batching.split(mine, parts) if mine else []
        count = self.world.max_int(len(groups))
        return groups + [[] for _ in range(count - len(groups))]

    def _update(self) -> None:
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        if self.args.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.params, self.args.max_grad_norm)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.per_step_scheduler:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def evaluate(self, samples: list[batching.Sample]) -> float:
        """Mean target-token loss over ``samples``, dropout off."""
        self.model.eval()
        try:
            if self.world is not None:
                total = self._shard_eval(samples)
            else:
                total = torch.zeros((), device=self.device, dtype=torch.float64)
                for group in batching.split(samples, batching.micro_batches(samples, 2 * self.budget)):
                    batch = self.collate(group)
                    total += loss_sum(self.model, batch, self.precision.autocast).double()
        finally:
            self.model.train()
        loss = total.item() / max(sum(s.n_targets for s in samples), 1)  # every rank holds all samples
        if not self.per_step_scheduler:
            self.scheduler.step(loss)
        return loss

    def _shard_eval(self, samples: list[batching.Sample]) -> torch.Tensor:
        """The summed loss over all ranks' shards of ``samples``."""
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        for group in self._groups(self.world.shard(samples), 2 * self.budget):
            batch = self.collate(group or samples[:1])
            loss = self.world.forward(batch, self.precision.autocast).double()
            total += loss if group else 0 * loss
        return self.world.sum(total)
