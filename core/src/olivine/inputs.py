"""Resolve ``input_model`` to a local ModelRef: a folder, a Hugging Face hub repo, or a resource."""

from __future__ import annotations

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


def locate_model_path(value: str, workflow_dir: Path, path: str, revision: str | None = None,
                      onnx: bool = False, trust_remote_code: bool = False) -> Path:
    """A local folder or file, else a hub repo id downloaded (or found in the hub cache when offline)."""
    from olivine.hub import download_model, looks_like_repo_id

    local = resolve_path(value, workflow_dir)
    if local.exists():
        return local.resolve()
    if looks_like_repo_id(value):
        return download_model(value, revision, path, onnx=onnx, trust_remote_code=trust_remote_code).path
    raise ConfigError(path, f"{value!r} is neither a local folder ({local}) nor a Hugging Face hub repo id",
                      "point it at a model folder, or write a hub id as owner/name")


def locate_input_model(cfg: InputModelConfig, workflow_dir: Path, path: str = "input_model.model_path") -> Path:
    """``input_model.model_path``, with the hub revision and remote-code setting of its ``load_kwargs``."""
    assert isinstance(cfg.model_path, str)  # a resource reference ({"type": ...}) is fetched, never located
    return locate_model_path(cfg.model_path, workflow_dir, path, revision=cfg.load_kwargs.get("revision"),
                             onnx=cfg.type in ONNX_TYPES,
                             trust_remote_code=bool(cfg.load_kwargs.get("trust_remote_code")))


def hub_identity(path: Path) -> str | None:
    """``owner/name@commit`` for a folder inside the hub cache (``models--owner--name/snapshots/<commit>``):
    what keys a hub model in olivine's cache, instead of hashing gigabytes of weights."""
    parts = Path(path).parts
    if len(parts) < 3 or parts[-2] != "snapshots" or not parts[-3].startswith("models--"):
        return None
    commit = parts[-1]
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        return None
    return parts[-3][len("models--"):].replace("--", "/") + "@" + commit


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
        assert cfg.adapter_path is not None  # the format says there is one
        adapter = locate_model_path(cfg.adapter_path, workflow_dir, "input_model.adapter_path")
        metadata["hub"] = _hub_keys({"path": adapter, "base_model": path})
        return ModelRef(format=fmt, path=adapter, base_model=path, metadata=metadata)
    metadata["hub"] = _hub_keys({"path": path})
    if fmt == "onnx" and cfg.onnx_file_name and path.is_dir():
        path = path / cfg.onnx_file_name  # a folder holding several .onnx files: the one to use
    return ModelRef(format=fmt, path=path, metadata=metadata)


def _hub_keys(paths: dict[str, Path]) -> dict[str, dict[str, str]]:
    """For each hub snapshot among ``paths``: the folder and its repo@commit (models.model_key reads it)."""
    keys = {}
    for role, folder in paths.items():
        identity = hub_identity(folder)
        if identity is not None:
            keys[role] = {"folder": str(folder), "identity": identity}
    return keys
