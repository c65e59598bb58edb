"""The training loop: steps, logging, evaluation and checkpoints, resuming from the last checkpoint."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from olivine import OlivineError

from olivine_lora import checkpoint, curves
from olivine_lora.batching import Sample, StepPlan
from olivine_lora.settings import Settings
from olivine_lora.step import Stepper

COLLECT_EVERY_S = 60.0


@dataclass
class Outcome:
    history: dict[str, list[dict[str, float]]]
    resumed_from: int
    steps_run: int
    tokens: int
    seconds: float
    forwards: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass
class LoopIO:
    """Where the loop reports: progress bars, checkpoints, tensorboard."""

    progress: Any  # (total, description) -> olivine Progress
    checkpoint_dir: Path | None
    tensorboard_dir: Path | None
    keep_checkpoints: int = 2
    note: Callable[[str], None] = field(default=lambda line: None)
    resume_from: Any = None  # named_checkpoint.Named: training_args.resume_from_checkpoint
    trackers: Callable[[int], Any] | None = None  # resume step -> scalar/close sink (trackers.open_trackers)


def train(stepper: Stepper, train: list[Sample], evaluation: list[Sample], settings: Settings, args,
          io: LoopIO, description: str) -> Outcome:
    plan = StepPlan(train, settings, args.train_sampling_strategy, args.dataloader_drop_last)
    start, history = 0, curves.new_history()
    resumed = checkpoint.resume(io.checkpoint_dir, stepper.model, stepper.optimizer, stepper.scheduler,
                                stepper.scaler, io.note, io.resume_from, stepper.world)
    if resumed is not None:
        start, history = resumed
        io.note(f"resumed from the checkpoint at step {start} of {settings.total_steps}")
    world = stepper.world
    if world is not None and not world.agree(start):
        # rank 0 writes checkpoints; on several nodes every rank must read the same folder
        raise CheckpointMismatch("the ranks found different checkpoints to resume from: put the cache "
                                 "(engine.cache_dir) on a filesystem every node shares")
    board = io.trackers(start) if io.trackers else curves.Tensorboard(io.tensorboard_dir, start)
    stepper.model.train()
    if evaluation and args.eval_on_start and start == 0:
        _record_eval(stepper, evaluation, history, board, 0)
    tokens, train_seconds, collected = 0, 0.0, time.monotonic()
    window, window_steps, shown = torch.zeros((), device=stepper.device), 0, None
    with io.progress(settings.total_steps, description) as bar:
        if start:
            bar.update(start)
        for step in range(start, settings.total_steps):
            began = time.perf_counter()
            samples = [train[i] for i in plan.indices(step)]
            window += stepper.step(samples)
            window_steps += 1
            tokens += sum(len(s.ids) for s in samples)
            done = step + 1
            first = done == 1 and args.logging_first_step
            if _due(done, settings.log_every or settings.total_steps, settings) or first:
                shown = ((world.sum(window) if world is not None else window) / window_steps).item()
                lr = stepper.optimizer.param_groups[0]["lr"]
                history["loss"].append({"step": done, "loss": round(shown, 6)})
                history["learning_rate"].append({"step": done, "learning_rate": lr})
                board.scalar("train/loss", shown, done)
                board.scalar("train/learning_rate", lr, done)
                window, window_steps = torch.zeros((), device=stepper.device), 0
            if time.monotonic() - collected > COLLECT_EVERY_S:
                # olivine leaves full collections to pass boundaries; a long run collects now and then
                # (milliseconds: what was long-lived at the start is frozen) so no garbage cycle piles up
                gc.collect()
                collected = time.monotonic()
            train_seconds += time.perf_counter() - began
            if evaluation and done >= settings.eval_from and _due(done, settings.eval_every, settings):
                _record_eval(stepper, evaluation, history, board, done)
            if settings.save_every and done % settings.save_every == 0 and done < settings.total_steps \
                    and io.checkpoint_dir is not None:
                # every rank: FSDP2 gathers the shards from all of them; rank 0 writes
                checkpoint.save(io.checkpoint_dir, done, stepper.model, stepper.optimizer, stepper.scheduler,
                                stepper.scaler, history, io.keep_checkpoints, world)
            fields = {"loss": shown} if shown is not None else {}
            bar.update(1, **fields, tok_s=round(tokens / train_seconds) if train_seconds else 0)
    board.close()
    return Outcome(history, start, settings.total_steps - start, tokens, train_seconds, stepper.forwards)


class CheckpointMismatch(OlivineError):
    """Ranks of one distributed run would resume from different steps."""


def _due(done: int, every: int, settings: Settings) -> bool:
    return bool(every) and (done % every == 0 or done == settings.total_steps)


def _record_eval(stepper: Stepper, evaluation: list[Sample], history, board, step: int) -> None:
    loss = stepper.evaluate(evaluation)
    history["eval_loss"].append({"step": step, "loss": round(loss, 6)})
    board.scalar("eval/loss", loss, step)
