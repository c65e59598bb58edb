"""Run a LoRA or QLoRA pass: load, train, save the adapter and tokenizer, report."""

from __future__ import annotations

import gc
import json
import random
import shutil
from functools import partial
from pathlib import Path

import torch
from olivine import ModelRef, PassContext

from olivine_lora import (
    cpu_dropout,
    cpu_matmul,
    distributed,
    flops,
    lean_lora,
    loading,
    loop,
    optim,
    packing_check,
    parallel,
    precision,
    settings,
)
from olivine_lora.batching import Sample, to_samples
from olivine_lora.curves import plot
from olivine_lora.named_checkpoint import named
from olivine_lora.step import Stepper, token_budget
from olivine_lora.trackers import open_trackers

CARRIED_METADATA = ("load_kwargs", "task")


def run_lora(cfg, model: ModelRef, ctx: PassContext, quantized: bool) -> ModelRef:
    if cfg.distributed is not None and cfg.distributed.is_distributed():
        from olivine_lora.launch import run_distributed

        return run_distributed(cfg, model, ctx, quantized)
    return train_adapter(cfg, model, ctx, quantized)[0]


def train_adapter(cfg, model: ModelRef, ctx: PassContext, quantized: bool, world: parallel.World | None = None):
    """Train and save; returns the adapter's ModelRef and the trained in-memory PeftModel.

    With ``world`` (a worker of a distributed run) every rank trains on its shard; rank 0 alone saves and
    reports, the others return (None, model).
    """
    args = cfg.training_args
    notes = cfg.notes() + args.notes() + [f"training_args.{name} has no effect in olivine's training loop"
                            for name in distributed.inert(args.inert_fields())]
    reshard = distributed.fsdp_reshard(getattr(args, "fsdp", None))
    if reshard is not None and world is None:
        notes.append("training_args.fsdp: one process trains unsharded (set distributed.nproc_per_node to shard)")
    main = world is None or world.main
    # a bad OLIVINE_CPU_MATMUL or OLIVINE_CPU_DROPOUT fails before the model loads
    cpu_matmul.mode_from_env()
    cpu_dropout.mode_from_env()
    device = loading.pick_device(args.use_cpu)
    prec = precision.resolve(cfg.torch_dtype, device, args.bf16, args.fp16, notes)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = bool(cfg.allow_tf32 if args.tf32 is None else args.tf32)
    checkpointing = bool(args.activation_checkpointing)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    loaded = loading.load(cfg, Path(model.path), model.metadata.get("load_kwargs") or {}, device, prec, quantized,
                          checkpointing, pass_path(ctx))
    notes += loaded.notes
    train, evaluation = _samples(cfg, ctx, loaded.tokenizer, notes)
    plan = settings.resolve(args, len(train), bool(evaluation), notes, world.size if world else 1)
    pad_id = _pad_id(loaded.tokenizer)
    pack = packing_check.keeps_samples_apart(loaded.model, train, pad_id, device, prec.autocast, prec.weights,
                                             quantized)
    if not pack:
        notes.append(f"{type(loaded.model.get_base_model()).__name__} lets packed samples attend to each other: "
                     "training on padded rows (slower)")
    sharded = reshard if world is not None else None  # FSDP2 will shard the layers
    matmul = fast_cpu_matmul(loaded.model, device, prec, quantized, sharded)
    lean = fast_cpu_lora(loaded.model, device, sharded)
    if world is not None:  # before the optimizer: FSDP2 replaces the parameters by sharded ones
        parallel.wrap(world, loaded.model, args, reshard, prec.autocast)
    opt = optim.optimizer(loaded.model, args, device, notes)
    sched = optim.scheduler(opt, args, plan.warmup_steps, plan.total_steps, notes)
    stepper = Stepper(loaded.model, opt, sched, prec, device, pad_id, args,
                      token_budget(loaded.model, device, checkpointing), notes, world, pack=pack)
    board = _tensorboard_dir(ctx) if args.wants_tensorboard() and main else None
    where = f"{pass_path(ctx)}.training_args"
    io = loop.LoopIO(ctx.progress, ctx.checkpoint_dir, board, args.save_total_limit or 2, ctx.note,
                     named(args.resume_from_checkpoint, ctx.resolve_path, f"{where}.resume_from_checkpoint"),
                     partial(open_trackers, args.trackers(), board, run_name=getattr(args, "run_name", None) or
                             pass_path(ctx).removeprefix("passes."), params=cfg.model_dump(mode="json"),
                             where=f"{where}.report_to", note=ctx.note))
    if not main:
        io.trackers = None  # rank 0 alone reports
    told = _tell(ctx, notes, 0)
    # The libraries and the loaded model are long-lived: out of the collector's sight, the gen-2
    # collections the loop's allocations trigger stop walking half a million objects each time.
    gc.freeze()
    try:
        outcome = loop.train(stepper, train, evaluation, plan, args, io,
                             f"{'QLoRA' if quantized else 'LoRA'} training")
    finally:
        undo_fast_cpu(loaded.model)
    _tell(ctx, notes, told)  # what happened during training (smaller forwards after running out of memory)
    # FSDP2 holds shards: every rank takes part in gathering the trainable weights rank 0 saves.
    state = parallel.full_trainable_state(loaded.model) if world is not None and world.kind == "fsdp" else None
    if not main:
        return None, loaded.model
    adapter = _save(loaded, ctx.output_dir / "adapter", state)
    _report(ctx, cfg, loaded, plan, outcome, prec, device, board)
    chosen = matmul.summary() if matmul is not None else {}
    if chosen:
        ctx.report["cpu_matmul"] = chosen
    if lean:
        ctx.report["cpu_lora"] = lean
    size = world.size if world is not None else 1
    if world is not None:
        ctx.report.update({"world_size": world.size, "parallelism": world.kind,
                           "train_tokens_per_second_per_process": round(outcome.tokens_per_second / world.size, 1)})
    if device == "cuda" and train:
        share = flops.share_of_peak(loaded.model, outcome.tokens_per_second / size,
                                    sum(len(s.ids) for s in train) / len(train))
        if share is not None:
            ctx.report["train_share_of_peak_bf16"] = round(share, 4)
    metadata = {k: model.metadata[k] for k in CARRIED_METADATA if k in model.metadata}
    metadata["lora"] = {"r": cfg.r, "alpha": cfg.alpha, "target_modules": loaded.targets, "use_dora": cfg.use_dora}
    if loaded.quantization:
        metadata["quantization"] = loaded.quantization
        (adapter / "quantization.json").write_text(json.dumps(loaded.quantization, indent=2) + "\n")
    ref = ModelRef(format="hf+adapter", path=adapter, base_model=Path(model.path), metadata=metadata)
    return ref, loaded.model


def fast_cpu_matmul(model, device: str, prec: precision.Precision, quantized: bool,
                    reshard=None) -> cpu_matmul.Chooser | None:
    """oneDNN for the frozen float32 layers where it is faster (cpu_matmul); not under autocast or FSDP2's shards."""
    mode = cpu_matmul.mode_from_env()
    plain = device == "cpu" and not quantized and prec.autocast is None and prec.weights == torch.float32
    if not plain or reshard is not None:
        return None
    return cpu_matmul.install(model, mode)


def fast_cpu_lora(model, device: str, reshard=None) -> dict[str, int]:
    """On CPU, unsharded: LoRA dropout masks from 16-bit slices of torch's draws (cpu_dropout) and plain
    LoRA layers' lean forward (lean_lora). Returns the layers changed, for the report."""
    if device != "cpu" or reshard is not None:
        return {}
    changed = {"lean_forward_layers": lean_lora.install(model)}
    if cpu_dropout.mode_from_env() == "fast":
        changed["sliced_dropout_layers"] = cpu_dropout.install(model)
    return {key: count for key, count in changed.items() if count}


def undo_fast_cpu(model) -> None:
    """Give back every layer fast_cpu_matmul and fast_cpu_lora routed, as peft and torch built them."""
    cpu_matmul.uninstall(model)
    lean_lora.uninstall(model)
    cpu_dropout.uninstall(model)


def _tell(ctx: PassContext, notes: list[str], start: int) -> int:
    for line in notes[start:]:
        ctx.note(line)
    return len(notes)


def pass_path(ctx: PassContext) -> str:
    """``passes.<key>`` for errors raised while running (older cores only name the pass logger after it)."""
    key = getattr(ctx, "pass_key", "") or ""
    if not key and ctx.logger.name.startswith("olivine.pass."):
        key = ctx.logger.name.removeprefix("olivine.pass.")
    return f"passes.{key or 'lora'}"


def _samples(cfg, ctx: PassContext, tokenizer, notes: list[str]) -> tuple[list[Sample], list[Sample]]:
    from olivine import training_examples

    args = cfg.training_args
    seed = args.data_seed if args.data_seed is not None else args.seed
    train_config = ctx.data_configs[cfg.train_data_config]
    if cfg.eval_data_config:
        if cfg.eval_dataset_size:
            notes.append("eval_dataset_size is ignored: eval_data_config is set")
        train, _ = training_examples(train_config, tokenizer, seed=seed)
        evaluation, _ = training_examples(ctx.data_configs[cfg.eval_data_config], tokenizer, seed=seed)
    else:
        train, evaluation = training_examples(train_config, tokenizer, cfg.eval_dataset_size, seed=seed)
    return to_samples(train), to_samples(evaluation)


def _pad_id(tokenizer) -> int:
    for name in ("pad_token_id", "eos_token_id", "unk_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return value
    return 0


def _tensorboard_dir(ctx: PassContext) -> Path:
    # Beside the checkpoints while training, so a resumed run continues the same event files.
    root = ctx.checkpoint_dir if ctx.checkpoint_dir is not None else ctx.output_dir
    return root / "tensorboard"


def _save(loaded: loading.Loaded, folder: Path, state: dict | None = None) -> Path:
    loaded.model.save_pretrained(folder, state_dict=state)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def _report(ctx: PassContext, cfg, loaded, plan, outcome, prec, device: str, board: Path | None) -> None:
    history = outcome.history
    artifacts = {"loss.svg": "loss.svg"}
    plot(history, ctx.output_dir / "loss.svg", f"{type(cfg).__name__.removesuffix('Config')} r={cfg.r}")
    if board is not None:
        target = ctx.output_dir / "tensorboard"
        if board != target:
            shutil.copytree(board, target, dirs_exist_ok=True)
        artifacts["tensorboard"] = "tensorboard"
    trainable = sum(p.numel() for p in loaded.model.parameters() if p.requires_grad)
    ctx.report.update({
        "loss": history["loss"], "eval_loss": history["eval_loss"], "learning_rate": history["learning_rate"],
        "steps": plan.total_steps, "resumed_from_step": outcome.resumed_from, "steps_run": outcome.steps_run,
        "effective_batch": plan.effective_batch, "forwards_per_step": round(outcome.forwards / max(outcome.steps_run,
                                                                                                   1), 3),
        "train_tokens_per_second": round(outcome.tokens_per_second, 1), "train_seconds": round(outcome.seconds, 3),
        "device": device, "precision": prec.describe(), "trainable_parameters": trainable,
        "target_modules": loaded.targets, "artifacts": artifacts,
    })
