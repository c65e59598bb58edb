"""Data files are read as UTF-8: find where one is not, so the error names the file and line.

``datasets`` (and the standard library) fail on a stray Latin-1 byte with a decode error that names
no file; validation and loading call this to say which file, which line and which byte instead.
"""

from __future__ import annotations

from pathlib import Path

from olivine.paths import is_pattern, matching_files

TEXT_BUILDERS = ("json", "csv", "text")
# Validation reads at most this much of each file; loading checks the rest when a decode fails.
SCAN_BYTES = 64 * 1024 * 1024


def first_non_utf8(path: Path, limit: int | None = SCAN_BYTES) -> str | None:
    """``"line 3, byte 0xe9"`` for the first line of ``path`` that is not UTF-8; None when all is (or unreadable).

    Lines are split on newline bytes, which no multi-byte UTF-8 character contains.
    """
    read = 0
    try:
        with Path(path).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return f"line {number}, byte 0x{line[exc.start]:02x}"
                read += len(line)
                if limit is not None and read >= limit:
                    return None
    except OSError:
        return None
    return None


def message(path: Path, where: str) -> str:
    return f"data file is not UTF-8 text: {path} ({where})"


HINT = "save it as UTF-8, e.g. iconv -f latin1 -t utf-8 in.csv > out.csv"


def non_utf8_file(data_files, limit: int | None = None) -> tuple[Path, str] | None:
    """The first local data file (str, list or per-split dict, patterns expanded) that is not UTF-8."""
    for value in _values(data_files):
        files = matching_files(Path(value)) if is_pattern(value) else [Path(value)]
        for file in files:
            if file.is_file():
                where = first_non_utf8(file, limit)
                if where is not None:
                    return file, where
    return None


def _values(data_files):
    if isinstance(data_files, str):
        yield data_files
    elif isinstance(data_files, list):
        for value in data_files:
            yield from _values(value)
    elif isinstance(data_files, dict) and "type" not in data_files:
        for value in data_files.values():
            yield from _values(value)
