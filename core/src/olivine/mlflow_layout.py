"""Hugging Face files inside an MLflow model (``model_file_format: "PyTorch.MLflow"``).

AzureML's catalog models use the ``hftransformersv2`` flavor: ``data/config``, ``data/tokenizer`` and
``data/model`` each hold part of the Hugging Face folder. MLflow's own ``transformers`` flavor writes
``model/`` and ``components/tokenizer/``. Neither folder alone loads; the parts are gathered (hard
links where possible) into one folder that ``from_pretrained`` reads.

Core reads this layout because it is part of Olive's input-model schema (a local folder may be an
MLflow model too); plugins use it through the public ``olivine.mlflow_hf_parts``/``mlflow_hf_folder``.
"""

from __future__ import annotations

from pathlib import Path

from olivine.models import link_or_copy_tree

# Later parts win on equal names: the weights folder's config.json is the one that matches the weights.
PARTS = ("data/config", "data/tokenizer", "components/tokenizer", "data/model", "model")


def mlflow_root(folder: Path) -> Path | None:
    """The shallowest folder holding an ``MLmodel`` file."""
    folder = Path(folder)
    if (folder / "MLmodel").is_file():
        return folder
    found = sorted(folder.rglob("MLmodel"), key=lambda p: (len(p.parts), str(p)))
    return found[0].parent if found else None


def hf_parts(download: Path) -> list[Path]:
    """The folders of the MLflow model in ``download`` that hold Hugging Face files, later ones winning on
    equal names; empty when ``download`` is no MLflow model."""
    root = mlflow_root(download)
    return [root / part for part in PARTS if (root / part).is_dir()] if root is not None else []


def hf_folder(download: Path, target: Path) -> Path:
    """``target`` filled with the Hugging Face files of the MLflow model in ``download``; ``download`` if none."""
    parts = hf_parts(download)
    if not parts:
        return download
    for part in parts:
        link_or_copy_tree(part, target)
    return target
