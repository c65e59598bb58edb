"""ModelRef: what flows between passes, and the content key that addresses it in the cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMATS = ("hf", "hf+adapter", "onnx-genai", "onnx")


class ModelRef(BaseModel):
    """A model on local disk: its format, its folder (or file) and what produced it.

    For ``hf+adapter`` the path is the adapter folder and ``base_model`` the base model folder.
    ``metadata`` carries precision, execution provider, producing pass and anything a pass reports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    path: Path
    base_model: Path | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if relative_to is not None:
            data["path"] = _relative(self.path, relative_to)
            if self.base_model is not None:
                data["base_model"] = _relative(self.base_model, relative_to)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], relative_to: Path | None = None) -> ModelRef:
        data = dict(data)
        if relative_to is not None:
            data["path"] = str(relative_to / data["path"])
            if data.get("base_model"):
                data["base_model"] = str(relative_to / data["base_model"])
        return cls.model_validate(data)

    def with_metadata(self, **extra: Any) -> ModelRef:
        return self.model_copy(update={"metadata": {**self.metadata, **extra}})


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def content_key(path: Path, memo: dict[str, Any] | None = None) -> str:
    """sha256 over relative names and contents of every file under ``path``.

    ``memo`` maps a file's (path, size, mtime) to its digest so that unchanged multi-GB
    checkpoints are hashed once per cache, not once per run.
    """
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    outer = hashlib.sha256()
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        if rel.startswith(".cache/") or "/.cache/" in rel:
            continue
        outer.update(rel.encode() + b"\0" + _file_digest(file, memo).encode() + b"\n")
    return outer.hexdigest()


def _file_digest(file: Path, memo: dict[str, Any] | None) -> str:
    stat = file.stat()
    stamp = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if memo is not None and stamp in memo:
        return memo[stamp]
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    if memo is not None:
        memo[stamp] = value
    return value


def model_key(model: ModelRef, memo: dict[str, Any] | None = None) -> str:
    """Content key of a ModelRef: its files, its base model's files and its format."""
    hub = model.metadata.get("hub") or {}
    parts = {"format": model.format, "path": _key_of(model.path, hub.get("path"), memo)}
    if model.base_model is not None:
        parts["base_model"] = _key_of(model.base_model, hub.get("base_model"), memo)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _key_of(path: Path, hub: dict[str, str] | None, memo: dict[str, Any] | None) -> str:
    """A hub snapshot is keyed by repo@commit (its files are immutable per commit); anything else by content.
    The recorded folder must be this very path: metadata copied onto a pass output never keys it."""
    if hub and Path(hub["folder"]) == Path(path):
        return "hub:" + hub["identity"]
    return content_key(path, memo)


def link_or_copy_tree(src: Path, dst: Path) -> None:
    """Materialize ``src`` at ``dst`` with hard links where the filesystem allows, copies elsewhere."""
    import shutil

    src, dst = Path(src), Path(dst)
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(src, dst)
        return
    for root, _dirs, files in os.walk(src):
        target = dst / Path(root).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            _link_or_copy(Path(root) / name, target / name)
    shutil.copystat(src, dst)


def _link_or_copy(src: Path, dst: Path) -> None:
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
