"""Publish a run into the output dir: ``model/`` and ``run.json``, replaced only when a run succeeds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from olivine.models import ModelRef, link_or_copy_tree


def publish(output_dir: Path, model: ModelRef | None, run: dict[str, Any]) -> ModelRef | None:
    """Stage everything beside the old results, then swap: a failure leaves the previous run intact."""
    output_dir.mkdir(parents=True, exist_ok=True)
    stage = output_dir / f".staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    published = None
    if model is not None:
        link_or_copy_tree(model.path, stage / "model")
        published = model.model_copy(update={"path": output_dir / "model"})
        if model.base_model is not None:
            (stage / "model" / "BASE_MODEL").write_text(str(model.base_model) + "\n")
    run = {**run, "output_model": published.to_json() if published else None}
    (stage / "run.json").write_text(json.dumps(run, indent=2, default=str))
    for extra in run.get("artifacts", []):
        src = Path(extra["source"])
        if src.exists():
            link_or_copy_tree(src, stage / extra["name"])
    _swap(stage, output_dir)
    return published


def _swap(stage: Path, output_dir: Path) -> None:
    old = output_dir / f".previous-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir()
    for item in stage.iterdir():
        current = output_dir / item.name
        if current.exists() or current.is_symlink():
            os.replace(current, old / item.name)
        os.replace(item, current)
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
