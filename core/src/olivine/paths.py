"""Paths in a workflow: ``~`` expanded, relative ones taken from the workflow file's folder."""

from __future__ import annotations

import glob
from pathlib import Path


def resolve_path(value: str | Path, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def is_pattern(value: str | Path) -> bool:
    """A ``data_files`` entry with glob characters stands for the files it matches (as in ``datasets``)."""
    return any(ch in str(value) for ch in "*?[")


def matching_files(pattern: str | Path) -> list[Path]:
    return [path for path in map(Path, sorted(glob.glob(str(pattern), recursive=True))) if path.is_file()]
