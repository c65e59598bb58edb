"""Checks on a data config that need no heavy imports: its files exist and its type is known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olivine.config.schema import DataConfig
from olivine.errors import ConfigError
from olivine.inputs import is_resource_ref

KNOWN_CONTAINERS = ("HuggingfaceContainer",)


def validate_data_config(data: DataConfig, path: str, workflow_dir: Path) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if data.type not in KNOWN_CONTAINERS:
        errors.append(ConfigError(f"{path}.type", f"unknown data container {data.type!r}",
                                  f"known: {', '.join(KNOWN_CONTAINERS)}"))
    files = data.load_dataset_config.get("data_files")
    for sub_path, value in _file_entries(files, f"{path}.load_dataset_config.data_files"):
        if is_resource_ref(value):
            continue
        local = Path(value).expanduser()
        local = local if local.is_absolute() else workflow_dir / local
        if not local.exists() and not any(ch in str(value) for ch in "*?["):
            errors.append(ConfigError(sub_path, f"data file not found: {local}"))
    return errors


def _file_entries(files: Any, path: str):
    if files is None:
        return
    if isinstance(files, (str, Path)):
        yield path, str(files)
    elif isinstance(files, dict) and "type" in files:
        yield path, files
    elif isinstance(files, dict):
        for split, value in files.items():
            yield from _file_entries(value, f"{path}.{split}")
    elif isinstance(files, list):
        for i, value in enumerate(files):
            yield from _file_entries(value, f"{path}[{i}]")
