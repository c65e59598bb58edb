"""Paths in a workflow: ``~`` expanded, relative ones taken from the workflow file's folder."""

from __future__ import annotations

from pathlib import Path


def resolve_path(value: str | Path, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
