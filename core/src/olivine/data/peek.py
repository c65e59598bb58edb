"""Read the columns and row count of local data files cheaply: text formats with the standard library,
parquet from its footer (pyarrow, which datasets brings).

Plan validation uses this to find a missing column or an empty split in well under a second; files
it cannot read cheaply (huge JSON arrays, parquet without pyarrow) return None and are checked when loaded.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

MAX_FULL_READ_BYTES = 64 * 1024 * 1024
SAMPLE_ROWS = 20
_SPLIT_PART = re.compile(r"^\s*([\w.-]+)\s*(?:\[\s*([^\]:]*)\s*:\s*([^\]]*)\s*\])?\s*$")


@dataclass
class Peek:
    columns: list[str]
    rows: int | None  # None when counting would mean reading a very large file


def peek(path: Path, builder: str | None) -> Peek | None:
    suffix = path.suffix.lower()
    try:
        if builder == "text" or (builder is None and suffix in (".txt", ".text")):
            return Peek(["text"], _count_lines(path))
        if builder == "csv" or suffix in (".csv", ".tsv"):
            return _peek_csv(path, "\t" if suffix == ".tsv" else ",")
        if builder == "json" or suffix in (".json", ".jsonl"):
            return _peek_json(path)
        if builder == "parquet" or suffix == ".parquet":
            return _peek_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def _peek_parquet(path: Path) -> Peek | None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    parquet = pq.ParquetFile(path)
    return Peek(list(parquet.schema_arrow.names), parquet.metadata.num_rows)


def _count_lines(path: Path) -> int | None:
    if path.stat().st_size > MAX_FULL_READ_BYTES:
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _peek_csv(path: Path, delimiter: str) -> Peek:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return Peek([], 0)
        rows = sum(1 for row in reader if row) if path.stat().st_size <= MAX_FULL_READ_BYTES else None
    return Peek(header, rows)


def _peek_json(path: Path) -> Peek | None:
    with path.open(encoding="utf-8") as handle:
        head = handle.read(1)
        while head and head.isspace():
            head = handle.read(1)
    if not head:
        return Peek([], 0)
    if head == "[":
        if path.stat().st_size > MAX_FULL_READ_BYTES:
            return None
        rows = json.loads(path.read_text(encoding="utf-8"))
        return Peek(_columns(rows[:SAMPLE_ROWS]), len(rows)) if isinstance(rows, list) else None
    return _peek_json_lines(path)


def _peek_json_lines(path: Path) -> Peek | None:
    sample: list[dict] = []
    count = 0
    big = path.stat().st_size > MAX_FULL_READ_BYTES
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            count += 1
            if len(sample) < SAMPLE_ROWS:
                try:
                    row = json.loads(line)
                except ValueError:
                    return None  # one JSON object spread over lines: let datasets read it
                if not isinstance(row, dict):
                    return None
                sample.append(row)
            elif big:
                return Peek(_columns(sample), None)
    return Peek(_columns(sample), count)


def _columns(rows: list) -> list[str]:
    names: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            names.extend(k for k in row if k not in names)
    return names


def split_parts(split: str) -> list[tuple[str, str, str]] | None:
    """``"train[:70%]+test"`` -> ``[("train", "", "70%"), ("test", "", "")]``; None when unparsable."""
    parts = []
    for text in split.split("+"):
        match = _SPLIT_PART.match(text)
        if not match:
            return None
        parts.append((match.group(1), (match.group(2) or "").strip(), (match.group(3) or "").strip()))
    return parts


def sliced_count(rows: int, start: str, end: str) -> int | None:
    """How many of ``rows`` a ``[start:end]`` slice keeps (datasets' rounding of percents); None if unparsable."""
    try:
        lo = _bound(start, rows, 0)
        hi = _bound(end, rows, rows)
    except ValueError:
        return None
    return max(0, min(hi, rows) - max(lo, 0))


def _bound(text: str, rows: int, default: int) -> int:
    if not text:
        return default
    if text.endswith("%"):
        value = round(float(text[:-1]) * rows / 100)
    else:
        value = int(text)
    return value + rows if value < 0 else value
