"""Resolve ``input_model`` to a local ModelRef: a folder, the local Hugging Face cache, or a resource."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from olivine.config.schema import InputModelConfig
from olivine.errors import ConfigError
from olivine.models import ModelRef
from olivine.paths import resolve_path

ONNX_TYPES = ("ONNXModel", "OnnxModel")
HF_TYPES = ("HfModel", "HFModel", "PyTorchModel")


def is_resource_ref(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value or (isinstance(value, str) and "://" in value)


def hf_cache_dirs() -> list[Path]:
    dirs = []
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            dirs.append(Path(os.environ[var]))
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    home = Path(os.environ.get("HF_HOME", cache_home / "huggingface"))
    dirs.append(home / "hub")
    return dirs


def find_in_hf_cache(repo_id: str) -> Path | None:
    """The snapshot folder of ``repo_id`` in the local hub cache (refs/main first), without network."""
    folder = "models--" + repo_id.replace("/", "--")
    for cache in hf_cache_dirs():
        repo = cache / folder
        ref = repo / "refs" / "main"
        if ref.is_file():
            snapshot = repo / "snapshots" / ref.read_text().strip()
            if snapshot.is_dir():
                return snapshot
        snapshots = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
        if snapshots:
            return snapshots[-1]
    return None


def locate_model_path(value: str, workflow_dir: Path, path: str) -> Path:
    local = resolve_path(value, workflow_dir)
    if local.exists():
        return local.resolve()
    cached = find_in_hf_cache(value) if value.count("/") == 1 and not value.startswith((".", "/")) else None
    if cached is not None:
        return cached
    raise ConfigError(
        path, f"{value!r} is neither a local folder ({local}) nor in the local Hugging Face cache",
        "olivine never downloads from the hub: download it first or point model_path at a folder")


def find_hf_folder(root: Path) -> Path:
    """Inside an MLflow or nested layout, the folder that holds config.json."""
    if (root / "config.json").is_file():
        return root
    for candidate in sorted(root.rglob("config.json"), key=lambda p: len(p.parts)):
        return candidate.parent
    return root


def input_format(cfg: InputModelConfig, path: Path | None = None) -> str:
    if cfg.type in ONNX_TYPES:
        if path is not None and path.is_dir() and (path / "genai_config.json").is_file():
            return "onnx-genai"
        return "onnx"
    return "hf+adapter" if cfg.adapter_path else "hf"


def model_ref_for(cfg: InputModelConfig, path: Path, workflow_dir: Path) -> ModelRef:
    fmt = input_format(cfg, path)
    if cfg.model_file_format == "PyTorch.MLflow" or (fmt == "hf" and not (path / "config.json").exists()):
        path = find_hf_folder(path)
    metadata = {"load_kwargs": cfg.load_kwargs, "task": cfg.task, "producer": "input_model"}
    if fmt == "hf+adapter":
        adapter = locate_model_path(cfg.adapter_path, workflow_dir, "input_model.adapter_path")
        return ModelRef(format=fmt, path=adapter, base_model=path, metadata=metadata)
    if fmt == "onnx" and cfg.onnx_file_name and path.is_dir():
        path = path / cfg.onnx_file_name  # a folder holding several .onnx files: the one to use
    return ModelRef(format=fmt, path=path, metadata=metadata)
