"""Resumable training state: trainable weights, optimizer, scheduler, RNG, step and curves so far.

Nothing here unpickles: tensors and plain containers load with ``torch.load(weights_only=True)``, and
Python's RNG state and the step counters are JSON. A checkpoint may sit in a cache shared with others,
so it is treated as untrusted input.

Each checkpoint is written to a hidden folder, its files fsynced, ``state.json`` (with every file's size
and blake2b) written last, then renamed into place. On resume the newest checkpoint that loads and
matches its hashes is used; a damaged one is skipped with a note naming it. Only when the pass has
none of its own, a checkpoint the user named (``training_args.resume_from_checkpoint``) is loaded the
same way; if none of it can be used, the run stops with one line saying why.

One format for every layout: one process, DDP and FSDP2 write the same files (the trainable weights whole, the
optimizer state indexed as ``Optimizer.state_dict`` indexes it), so a run may resume with another process count
or parallelism. Under FSDP2 every rank takes part in gathering the shards (torch.distributed.checkpoint's
full-state-dict helpers) and rank 0 writes; on resume every rank reads the files and keeps its own shard.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from olivine import OlivineError, file_hash, fsync_dir, fsync_file

from olivine_lora.named_checkpoint import Named

PREFIX = "step-"
FORMAT = 2
FILES = ("trainable.pt", "training.pt")


class CheckpointWriteError(OlivineError):
    """A checkpoint could not be written (full disk, read-only or missing folder); names the path."""


class NamedCheckpointError(OlivineError):
    """The checkpoint ``resume_from_checkpoint`` names cannot be used (damaged, or of another model)."""


def candidates(root: Path | None) -> list[Path]:
    """Finished checkpoints (those with ``state.json``), newest first."""
    if root is None or not root.is_dir():
        return []
    return sorted((p for p in root.glob(f"{PREFIX}*") if (p / "state.json").is_file()), reverse=True)


def latest(root: Path | None) -> Path | None:
    found = candidates(root)
    return found[0] if found else None


def resume(root: Path | None, model, optimizer, scheduler, scaler, note: Callable[[str], None],
           named: Named | None = None, world=None) -> tuple[int, dict[str, Any]] | None:
    """Restore the newest intact checkpoint of ``root``, else of ``named``; (step, history), or None for none.

    The pass's own checkpoints come first: a run resumed from a named checkpoint and killed again
    continues from its own later ones.
    """
    reasons: list[str] = []
    found = _first_loadable(candidates(root), model, optimizer, scheduler, scaler, note, reasons, world)
    if found is not None or named is None:
        return found
    reasons.clear()
    found = _first_loadable(named.checkpoints(), model, optimizer, scheduler, scaler, note, reasons, world)
    if found is None:
        why = reasons[0] if reasons else f"{named.folder} holds no finished checkpoint"
        raise NamedCheckpointError(f"{named.where}: cannot resume from {why}")
    note(f"resuming from {named.folder} (training_args.resume_from_checkpoint)")
    return found


def _first_loadable(paths: list[Path], model, optimizer, scheduler, scaler, note: Callable[[str], None],
                    reasons: list[str], world=None) -> tuple[int, dict[str, Any]] | None:
    initial = _snapshot(model) if paths else {}
    for path in paths:
        try:
            return load(path, model, optimizer, scheduler, scaler, world)
        except Exception as exc:  # noqa: BLE001 - any damage means: try the one before
            _restore(model, initial)
            reasons.append(f"{path}: {_reason(exc)}")
            note(f"checkpoint {path} skipped: {_reason(exc)}")
    return None


def save(root: Path, step: int, model, optimizer, scheduler, scaler, history: dict[str, Any], keep: int,
         world=None) -> Path | None:
    """Write a checkpoint of ``step``; returns its folder, or None on a rank other than 0.

    Every rank of a distributed run calls this: under FSDP2 the shards are gathered by all of them.
    """
    weights, optimizer_state = _gathered(model, optimizer, world)
    if world is not None and not world.main:
        return None
    final = root / f"{PREFIX}{step:09d}"
    staging = root / f".{final.name}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _write(staging, step, weights, optimizer_state, scheduler, scaler, history)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        fsync_dir(root)
    except (OSError, RuntimeError) as exc:  # torch reports a full disk as RuntimeError("enforce fail ...")
        shutil.rmtree(staging, ignore_errors=True)
        raise CheckpointWriteError(f"could not write checkpoint {final}: {_write_reason(exc, root)}") from exc
    for old in candidates(root)[max(keep, 1):]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(f".{PREFIX}*.tmp"):  # leftovers of killed saves
        if stale != staging:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def _gathered(model, optimizer, world) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The trainable weights and the optimizer state, whole (gathered from every rank under FSDP2)."""
    if world is None or world.kind != "fsdp":
        return trainable_state(model), optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    from olivine_lora.parallel import full_trainable_state

    weights = full_trainable_state(model)
    # cpu_offload: only rank 0 keeps the gathered state (the others get an empty dict), on CPU
    by_name: dict[str, Any] = get_optimizer_state_dict(  # "state" and "param_groups"
        model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not world.main:
        return weights, {}
    order = _param_names(model, optimizer)
    index = {name: i for i, name in enumerate(order)}
    return weights, {"state": {index[name]: value for name, value in by_name["state"].items()},
                     "param_groups": [{**group, "params": [index[name] for name in group["params"]]}
                                      for group in by_name["param_groups"]]}


def _param_names(model, optimizer) -> list[str]:
    """The optimizer's parameters by name, in the order ``Optimizer.state_dict`` numbers them."""
    names = {id(param): name for name, param in model.named_parameters()}
    return [names[id(param)] for group in optimizer.param_groups for param in group["params"]]


def _load_optimizer(optimizer, state: dict[str, Any], model, world) -> None:
    if world is None or world.kind != "fsdp":
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    order = _param_names(model, optimizer)
    if len(state["state"]) > len(order) or any(not 0 <= int(i) < len(order) for i in state["state"]):
        raise ValueError("its optimizer state does not fit this model's trainable parameters")
    by_name: dict[str, Any] = {
        "state": {order[int(i)]: value for i, value in state["state"].items()},
        "param_groups": [{**group, "params": [order[int(i)] for i in group["params"]]}
                         for group in state["param_groups"]]}
    # every rank read the whole state from the files: each keeps its shard
    set_optimizer_state_dict(model, optimizer, by_name, options=StateDictOptions(full_state_dict=True))


def _write(folder: Path, step: int, weights: dict[str, torch.Tensor], optimizer_state: dict[str, Any], scheduler,
           scaler, history: dict[str, Any]) -> None:
    torch.save(weights, folder / "trainable.pt")
    torch_rng: dict[str, torch.Tensor | list[torch.Tensor]] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        torch_rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None, "rng": torch_rng},
               folder / "training.pt")
    files = {}
    for name in FILES:
        files[name] = {"size": (folder / name).stat().st_size, "blake2b": file_hash(folder / name)}
        fsync_file(folder / name)
    version, internal, gauss = random.getstate()
    state = {"format": FORMAT, "step": step, "history": history, "files": files,
             "python_rng": [version, list(internal), gauss]}
    with open(folder / "state.json", "w", encoding="utf-8") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(folder)


def load(path: Path, model, optimizer, scheduler, scaler, world=None) -> tuple[int, dict[str, Any]]:
    """Restore everything ``save`` wrote; returns (step, history). Raises on any damage, before changing
    anything but the trainable weights (which ``resume`` puts back)."""
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("written by an older olivine (its training state was pickled)")
    for name in FILES:
        expected = state["files"][name]
        if (path / name).stat().st_size != expected["size"] or file_hash(path / name) != expected["blake2b"]:
            raise ValueError(f"{name} does not match the size and hash recorded when it was saved")
    weights = torch.load(path / "trainable.pt", map_location="cpu", weights_only=True)
    training = torch.load(path / "training.pt", map_location="cpu", weights_only=True)
    params = dict(model.named_parameters())
    missing = [name for name in weights if name not in params]
    if missing:
        raise ValueError(f"does not fit this model (unknown parameters {missing[:3]})")
    _restore(model, weights)
    _load_optimizer(optimizer, training["optimizer"], model, world)
    scheduler.load_state_dict(training["scheduler"])
    if scaler is not None and training["scaler"] is not None:
        scaler.load_state_dict(training["scaler"])
    torch.set_rng_state(training["rng"]["torch"])
    if "cuda" in training["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(training["rng"]["cuda"])
    version, internal, gauss = state["python_rng"]
    random.setstate((version, tuple(internal), gauss))
    return state["step"], state["history"]


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def _snapshot(model) -> dict[str, torch.Tensor]:
    """The trainable weights as they are, to put back after a damaged checkpoint (FSDP2: this rank's shards)."""
    return {name: p.detach().clone() if _is_sharded(p) else p.detach().cpu().clone()
            for name, p in model.named_parameters() if p.requires_grad}


def _restore(model, weights: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            param = params[name]
            if _is_sharded(param) and not _is_sharded(value):
                from torch.distributed.tensor import distribute_tensor

                # every rank holds the whole tensor: each cuts its own shard, no communication
                value = distribute_tensor(value.to(param.device), param.device_mesh, param.placements,
                                          src_data_rank=None)
            param.copy_(value)


def _is_sharded(tensor) -> bool:
    """A DTensor (FSDP2's parameters), told without importing torch.distributed in a single-process run."""
    return hasattr(tensor, "device_mesh") and hasattr(tensor, "placements")


def _reason(exc: Exception) -> str:
    if isinstance(exc, pickle.UnpicklingError):
        return "it holds objects other than tensors (refused: loading them could run code)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _write_reason(exc: BaseException, root: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    try:
        if shutil.disk_usage(root).free < (1 << 20):
            return "no space left on device"
    except OSError:
        pass
    return str(exc).strip().splitlines()[0][:200]
