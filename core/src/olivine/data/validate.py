"""Checks on a data config before any work, with no heavy import: keys, files, columns, templates, splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from olivine.config.schema import DataConfig
from olivine.data import encoding, memory
from olivine.data.options import (
    LOCAL_BUILDERS,
    SPELLINGS,
    STRATEGIES,
    TEXT_GEN_TYPES,
    LoadOptions,
    PreProcessOptions,
    placeholders,
    seq_key_of,
)
from olivine.data.peek import peek, sliced_count, split_parts
from olivine.errors import ConfigError
from olivine.inputs import is_resource_ref
from olivine.paths import is_pattern, matching_files, resolve_path
from olivine.suggest import did_you_mean

KNOWN_CONTAINERS = ("HuggingfaceContainer",)


def validate_data_config(data: DataConfig, path: str, workflow_dir: Path) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if data.type not in KNOWN_CONTAINERS:
        errors.append(ConfigError(f"{path}.type", f"unknown data container {data.type!r}",
                                  did_you_mean(data.type, KNOWN_CONTAINERS) or f"known: {', '.join(KNOWN_CONTAINERS)}"))
    load_path, pre_path = f"{path}.load_dataset_config", f"{path}.pre_process_data_config"
    load = _parse(LoadOptions, data.load_dataset_config, load_path, errors)
    pre = None
    if not _both_spellings(data.pre_process_data_config, pre_path, errors):
        pre = _parse(PreProcessOptions, data.pre_process_data_config, pre_path, errors)
    if pre is not None:
        errors.extend(_pre_process_errors(pre, pre_path))
    if load is None:
        return errors
    errors.extend(_load_errors(load, load_path, workflow_dir))
    if not any(e.path.startswith(load_path) for e in errors) and not load.is_hub(workflow_dir):
        errors.extend(_content_errors(load, pre, path, workflow_dir, seq_key_of(data.pre_process_data_config)))
    return errors


def _parse(model: type[BaseModel], raw: dict[str, Any], path: str, errors: list[ConfigError]):
    from olivine.config.pydantic_errors import config_errors_from

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors.extend(config_errors_from(exc, model, path).errors)
        return None


def _both_spellings(raw: dict[str, Any], path: str, errors: list[ConfigError]) -> bool:
    found = False
    for old, new in SPELLINGS.items():
        if old in raw and new in raw:
            errors.append(ConfigError(f"{path}.{old}", f"same setting as {new} (its older name); keep one"))
            found = True
    return found


def _load_errors(load: LoadOptions, path: str, workflow_dir: Path) -> list[ConfigError]:
    errors = []
    builder = load.builder()
    if load.is_hub(workflow_dir):
        # Fetched before any pass runs (errors there are one line too); here only what can be checked offline.
        if split_parts(load.split) is None:
            errors.append(ConfigError(f"{path}.split", f"cannot read split {load.split!r}",
                                      "write it as name or name[start:end], e.g. train[:4096]"))
        return errors
    if load.revision is not None:
        errors.append(ConfigError(f"{path}.revision", "applies to hub datasets only",
                                  "data_name is a local format or folder here"))
    if builder is None and load.data_files is not None:
        errors.append(ConfigError(f"{path}.data_name", "cannot tell the file format from the data file names",
                                  f"set data_name to one of {', '.join(LOCAL_BUILDERS)}"))
    elif builder is not None and builder not in LOCAL_BUILDERS and not _resolve(builder, workflow_dir).is_dir():
        errors.append(ConfigError(f"{path}.data_name", f"{builder!r} is not a local file format or folder",
                                  f"use one of {', '.join(LOCAL_BUILDERS)} with data_files, a local folder, "
                                  "or a hub dataset id (owner/name)"))
    elif builder is None and load.data_dir is None:
        errors.append(ConfigError(f"{path}.data_files", "required key is missing",
                                  "name the local file(s) to read"))
    for sub_path, value in _file_entries(load.data_files, f"{path}.data_files"):
        if is_resource_ref(value):
            continue
        local = _resolve(value, workflow_dir)
        if is_pattern(value):
            if not matching_files(local):
                errors.append(ConfigError(sub_path, f"no data file matches {local}"))
        elif not local.exists():
            errors.append(ConfigError(sub_path, f"data file not found: {local}"))
    return errors


def _pre_process_errors(pre: PreProcessOptions, path: str) -> list[ConfigError]:
    errors = []
    if pre.type is not None and pre.type not in TEXT_GEN_TYPES:
        errors.append(ConfigError(f"{path}.type", f"unsupported pre-processing {pre.type!r}",
                                  f"olivine pre-processes text generation data: {TEXT_GEN_TYPES[0]}"))
    if pre.strategy not in STRATEGIES:
        errors.append(ConfigError(f"{path}.strategy", f"unknown strategy {pre.strategy!r}",
                                  did_you_mean(pre.strategy, STRATEGIES) or f"known: {', '.join(STRATEGIES)}"))
    if pre.strategy == "join-sliding-window" and pre.stride is None:
        errors.append(ConfigError(f"{path}.stride", "required by strategy join-sliding-window"))
    if pre.strategy == "join-random" and pre.max_samples is None:
        errors.append(ConfigError(f"{path}.max_samples", "required by strategy join-random"))
    if pre.pad_to_max_len and not pre.use_attention_mask and "join" not in pre.strategy and (
            pre.text_template or pre.text_cols or pre.completion_only):
        errors.append(ConfigError(f"{path}.use_attention_mask", "padding to max_seq_len needs an attention mask",
                                  "set use_attention_mask to true or pad_to_max_len to false"))
    if pre.completion_only and (pre.text_template or pre.text_cols):
        errors.append(ConfigError(f"{path}.completion_template", "a completion-only config has no text_template "
                                  "or text_cols", "use prompt_template + completion_template, or the corpus form"))
    if pre.completion_only and pre.prompt_text() is None:
        errors.append(ConfigError(f"{path}.prompt_template", "required with completion_template"))
    if pre.prompt_template is not None and pre.prompt_col is not None:
        errors.append(ConfigError(f"{path}.prompt_col", "give prompt_template or prompt_col, not both"))
    if pre.completion_template is not None and pre.completion_col is not None:
        errors.append(ConfigError(f"{path}.completion_col", "give completion_template or completion_col, not both"))
    return errors


def _content_errors(load: LoadOptions, pre: PreProcessOptions | None, path: str, workflow_dir: Path,
                    seq_key: str = "max_seq_len") -> list[ConfigError]:
    """Columns and row counts of the files the split reads, when they can be read cheaply."""
    load_path = f"{path}.load_dataset_config"
    files_by_split = _files_by_split(load.data_files, workflow_dir, f"{load_path}.data_files")
    if files_by_split is None:
        return []
    parts = split_parts(load.split)
    if parts is None:
        return [ConfigError(f"{load_path}.split", f"cannot read split {load.split!r}",
                            "write it as name or name[start:end], e.g. train[:70%]")]
    errors: list[ConfigError] = []
    columns: list[str] | None = None
    total: int | None = 0
    text_bytes = 0
    for name, start, end in parts:
        if name not in files_by_split:
            errors.append(ConfigError(f"{load_path}.split", f"no split {name!r} in data_files",
                                      did_you_mean(name, files_by_split) or f"splits: {', '.join(files_by_split)}"))
            continue
        split_columns, rows = _peek_files(files_by_split[name], load, errors, load_path)
        if split_columns is not None:
            columns = split_columns if columns is None else [c for c in columns if c in split_columns]
        selected = sliced_count(rows, start, end) if rows is not None else None
        total = None if total is None or selected is None else total + selected
        if rows and selected is not None:
            size = sum(file.stat().st_size for _, file in files_by_split[name] if file.is_file())
            text_bytes += size * selected // rows
    if not errors and total == 0:
        errors.append(ConfigError(f"{load_path}.split", f"split {load.split!r} selects no rows"))
    if columns is not None:
        errors.extend(_column_errors(columns, load, pre, path))
    if not errors and pre is not None and total:
        errors.extend(_memory_errors(pre, total, text_bytes, path, seq_key))
    return errors


def _memory_errors(pre: PreProcessOptions, rows: int, text_bytes: int, path: str,
                   seq_key: str) -> list[ConfigError]:
    """The token lists' estimated size against this machine's memory (see olivine.data.memory)."""
    over = memory.too_big(memory.estimate_bytes(pre, rows, text_bytes))
    if over is None:
        return []
    return [ConfigError(f"{path}.pre_process_data_config.{seq_key}", memory.describe(pre, rows, *over), memory.HINT)]


def _peek_files(files: list[tuple[str, Path]], load: LoadOptions, errors: list[ConfigError],
                load_path: str) -> tuple[list[str] | None, int | None]:
    columns: list[str] | None = None
    rows: int | None = 0
    for sub_path, file in files:
        if load.builder() in encoding.TEXT_BUILDERS and file.is_file():
            where = encoding.first_non_utf8(file)
            if where is not None:
                errors.append(ConfigError(sub_path, encoding.message(file, where), encoding.HINT))
                return None, None
        seen = peek(file, load.builder()) if file.is_file() else None
        if seen is None:
            return None, None
        if seen.rows == 0:
            errors.append(ConfigError(sub_path, f"data file has no rows: {file}"))
        columns = seen.columns if columns is None else [c for c in columns if c in seen.columns]
        rows = None if rows is None or seen.rows is None else rows + seen.rows
    return columns, rows


def _column_errors(columns: list[str], load: LoadOptions, pre: PreProcessOptions | None,
                   path: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    pre_path = f"{path}.pre_process_data_config"
    wanted: list[tuple[str, str, str]] = [(f"{path}.load_dataset_config.col_filters.{c}", c, "column")
                                          for c in load.col_filters]
    if pre is not None:
        for i, col in enumerate(pre.text_cols or []):
            wanted.append((f"{pre_path}.text_cols[{i}]", col, "column"))
        for key in ("prompt_col", "completion_col"):
            if getattr(pre, key) is not None:
                wanted.append((f"{pre_path}.{key}", getattr(pre, key), "column"))
        for key in ("text_template", "prompt_template", "completion_template"):
            template = getattr(pre, key)
            for name in _template_fields(template, f"{pre_path}.{key}", errors):
                wanted.append((f"{pre_path}.{key}", name, "placeholder"))
    for where, name, kind in wanted:
        if name not in columns:
            what = f"placeholder {{{name}}} is not a column" if kind == "placeholder" else f"no column {name!r}"
            errors.append(ConfigError(where, f"{what} of the data (columns: {', '.join(columns)})",
                                      did_you_mean(name, columns)))
    return errors


def _template_fields(template: str | None, path: str, errors: list[ConfigError]) -> list[str]:
    if template is None:
        return []
    try:
        return placeholders(template)
    except ValueError as exc:
        errors.append(ConfigError(path, f"invalid template: {exc}", "write literal braces as {{ and }}"))
        return []


def _files_by_split(data_files: Any, workflow_dir: Path, path: str) -> dict[str, list[tuple[str, Path]]] | None:
    """Local files per split name, as ``datasets`` names them (patterns expanded); None when one is remote."""
    if isinstance(data_files, dict) and "type" not in data_files:
        groups = {split: list(_file_entries(value, f"{path}.{split}")) for split, value in data_files.items()}
    elif data_files is not None:
        groups = {"train": list(_file_entries(data_files, path))}
    else:
        return None
    resolved: dict[str, list[tuple[str, Path]]] = {}
    for split, entries in groups.items():
        files: list[tuple[str, Path]] = []
        for sub_path, value in entries:
            if is_resource_ref(value):
                return None
            local = _resolve(value, workflow_dir)
            if is_pattern(value):
                files.extend((sub_path, match) for match in matching_files(local))
            else:
                files.append((sub_path, local))
        resolved[split] = files
    return resolved


def _resolve(value: Any, workflow_dir: Path) -> Path:
    return resolve_path(str(value), workflow_dir)


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
