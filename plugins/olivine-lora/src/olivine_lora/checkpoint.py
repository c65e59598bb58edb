"""Resumable training state: trainable weights, optimizer, scheduler, RNG, step and curves so far.

Each checkpoint is written to a hidden folder and renamed into place, so a kill mid-save leaves the
previous checkpoint as the latest complete one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import torch

PREFIX = "step-"


def latest(root: Path | None) -> Path | None:
    if root is None or not root.is_dir():
        return None
    done = sorted(p for p in root.glob(f"{PREFIX}*") if (p / "state.json").is_file())
    return done[-1] if done else None


def save(root: Path, step: int, model, optimizer, scheduler, scaler, history: dict[str, Any], keep: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:09d}"
    staging = root / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    torch.save(trainable_state(model), staging / "trainable.pt")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None, "rng": _rng_state()},
               staging / "training.pt")
    (staging / "state.json").write_text(json.dumps({"step": step, "history": history}))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    for old in sorted(p for p in root.glob(f"{PREFIX}*") if p != final)[:-max(keep - 1, 0) or None]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load(path: Path, model, optimizer, scheduler, scaler) -> tuple[int, dict[str, Any]]:
    """Restore everything ``save`` wrote; returns (step, history)."""
    weights = torch.load(path / "trainable.pt", map_location="cpu", weights_only=True)
    params = dict(model.named_parameters())
    missing = [name for name in weights if name not in params]
    if missing:
        raise ValueError(f"checkpoint {path} does not fit this model (unknown parameters {missing[:3]})")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    training = torch.load(path / "training.pt", map_location="cpu", weights_only=False)
    optimizer.load_state_dict(training["optimizer"])
    scheduler.load_state_dict(training["scheduler"])
    if scaler is not None and training["scaler"] is not None:
        scaler.load_state_dict(training["scaler"])
    _set_rng_state(training["rng"])
    state = json.loads((path / "state.json").read_text())
    return state["step"], state["history"]


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
