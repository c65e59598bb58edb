"""Rows of local JSON / JSON-lines files read with the standard library.

Loading a few hundred rows through ``datasets`` costs about 80 MB of imports (pyarrow, pandas) in the
process that also trains and builds. Where the stdlib gives exactly the rows ``datasets`` would (a
``json`` builder, a plain split name, flat rows with one scalar type per column) they are read here;
anything else returns None and goes through ``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olivine.data.options import LoadOptions

_SCALARS = (str, int, float, bool)


def read_json_rows(load: LoadOptions) -> list[dict[str, Any]] | None:
    if load.builder() != "json" or "[" in load.split or load.data_dir or load.subset or load.streaming:
        return None
    files = _split_files(load.data_files, load.split)
    if not files or any(not Path(f).is_file() for f in files):
        return None
    rows: list[dict[str, Any]] = []
    for file in files:
        parsed = _parse(Path(file))
        if parsed is None:
            return None
        rows.extend(parsed)
    return _uniform(rows)


def _split_files(data_files: Any, split: str) -> list[str] | None:
    if isinstance(data_files, dict):
        data_files = data_files.get(split)
    elif split != "train":  # a bare path or list is the train split only
        return None
    if isinstance(data_files, str):
        return [data_files]
    if isinstance(data_files, list) and all(isinstance(f, str) for f in data_files):
        return list(data_files)
    return None


def _parse(file: Path) -> list[dict[str, Any]] | None:
    text = file.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        return None
    return rows if isinstance(rows, list) and all(isinstance(r, dict) for r in rows) else None


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Rows with every column present (None where missing), or None when a column mixes types."""
    columns: dict[str, type] = {}
    for row in rows:
        for key, value in row.items():
            if value is None:
                columns.setdefault(key, type(None))
                continue
            if not isinstance(value, _SCALARS):
                return None
            seen = columns.get(key, type(None))
            if seen is not type(None) and seen is not type(value):
                return None  # datasets would cast the column to one type
            columns[key] = type(value)
    return [{key: row.get(key) for key in columns} for row in rows]
