"""Training arguments resolved against the data: step counts and the cadence of logs, evals and saves.

Counts follow the Hugging Face Trainer: an epoch is ceil(micro-batches / accumulation) optimizer
steps, ``max_steps`` > 0 overrides epochs, fractional step settings (< 1) are ratios of all steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    batch_size: int
    accumulation: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    log_every: int  # 0: never
    eval_every: int
    eval_from: int  # no evaluation before this step
    save_every: int
    seed: int
    data_seed: int
    world_size: int = 1  # processes training together, each on batch_size x accumulation samples

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.accumulation * self.world_size


def resolve(args, n_train: int, has_eval: bool, notes: list[str], world_size: int = 1) -> Settings:
    b, g = args.per_device_train_batch_size, args.gradient_accumulation_steps
    # With N processes a micro-batch spans all of them (N x b samples), as the Trainer's sampler has it.
    micro = n_train // (b * world_size) if args.dataloader_drop_last else math.ceil(n_train / (b * world_size))
    if micro == 0:
        raise ValueError(f"{n_train} training examples do not fill one batch of {b * world_size} with "
                         "dataloader_drop_last")
    per_epoch = max(math.ceil(micro / g), 1)
    total = args.max_steps if args.max_steps > 0 else max(math.ceil(args.num_train_epochs * per_epoch), 1)
    return Settings(
        batch_size=b, accumulation=g, steps_per_epoch=per_epoch, total_steps=total,
        warmup_steps=_steps(args.warmup_steps, total),
        log_every=_every(args.logging_strategy, args.logging_steps, per_epoch, total),
        eval_every=_eval_every(args, per_epoch, total, has_eval, notes),
        eval_from=_steps(args.eval_delay, total) if args.eval_delay else 0,
        save_every=_save_every(args, per_epoch, total, notes),
        seed=args.seed, data_seed=args.data_seed if args.data_seed is not None else args.seed,
        world_size=world_size,
    )


def _steps(value: float, total: int) -> int:
    return int(value) if value >= 1 else math.ceil(total * value)


def _every(strategy: str, steps: float | None, per_epoch: int, total: int) -> int:
    if strategy == "no":
        return 0
    if strategy == "epoch":
        return per_epoch
    return max(_steps(steps, total), 1) if steps else 0


def _eval_every(args, per_epoch: int, total: int, has_eval: bool, notes: list[str]) -> int:
    strategy = args.eval_strategy
    if not has_eval:
        if strategy not in (None, "no"):
            notes.append(f"training_args.eval_strategy={strategy}: no eval data "
                         "(set eval_data_config or eval_dataset_size), so no evaluation during training")
        return 0
    if strategy is None:
        strategy = "steps"  # Olive evaluates by steps whenever there is eval data
    steps = args.eval_steps
    if steps is None and "logging_steps" in args.model_fields_set:
        steps = args.logging_steps
    if strategy == "steps" and steps is None:
        steps = max(total // 10, 1)
    return _every(strategy, steps, per_epoch, total)


def _save_every(args, per_epoch: int, total: int, notes: list[str]) -> int:
    strategy = args.save_strategy
    if strategy == "best":
        notes.append("training_args.save_strategy=best: checkpoints are saved by steps (resume only); "
                     "the adapter is the final one")
        strategy = "steps"
    if strategy == "steps" and args.save_steps is None:
        return max(math.ceil(total / 10), 1)  # about ten resume points per run
    return _every(strategy, args.save_steps, per_epoch, total)
