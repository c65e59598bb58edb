"""A cache entry's manifest: every file with its size and blake2b, written last.

An entry is finished only when ``manifest.json`` exists, names the entry's key, and lists exactly the
files in the folder with their sizes. A hit checks names and sizes (cheap); hashes are checked on
demand (``olivine cache verify``) and whenever a published file is copied out of the entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from olivine.durable import atomic_write_text, file_hash, fsync_dir, fsync_file

NAME = "manifest.json"
FORMAT = 2


def listing(entry: Path) -> dict[str, int]:
    """Relative posix name -> size of every file under ``entry`` (the manifest itself left out)."""
    found = {}
    for folder, _dirs, files in os.walk(entry):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(entry).as_posix()
            if rel != NAME:
                found[rel] = path.stat().st_size
    return found


def write(entry: Path, key: str) -> None:
    """Hash and fsync every file, then write the manifest and fsync the folders: the entry is finished."""
    files = {}
    for rel, size in sorted(listing(entry).items()):
        path = entry / rel
        files[rel] = {"size": size, "blake2b": file_hash(path)}
        fsync_file(path)
    for folder, dirs, _files in os.walk(entry, topdown=False):
        for name in dirs:
            fsync_dir(Path(folder) / name)
    atomic_write_text(entry / NAME, json.dumps({"format": FORMAT, "key": key, "files": files}, indent=1))


def read(entry: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((entry / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None
    return data


def problem(entry: Path, key: str, hashes: bool = False) -> str | None:
    """Why ``entry`` is not a finished entry for ``key`` (None: it is). ``hashes``: read every byte too."""
    if not (entry / NAME).exists():
        return "no manifest (unfinished, or written by an older olivine)"
    data = read(entry)
    if data is None or data.get("format") != FORMAT:
        return f"{NAME} is unreadable or of another format"
    if data.get("key") != key:
        return f"{NAME} belongs to entry {data.get('key')!r}"
    try:
        present = listing(entry)
    except OSError as exc:
        return f"cannot list files: {exc.strerror}"
    expected: dict[str, Any] = data["files"]
    for rel, info in sorted(expected.items()):
        if rel not in present:
            return f"{rel} is missing"
        if present[rel] != info.get("size"):
            return f"{rel} has {present[rel]} bytes, expected {info.get('size')}"
    extra = sorted(set(present) - set(expected))
    if extra:
        return f"{extra[0]} is not in the manifest"
    if hashes:
        for rel, info in sorted(expected.items()):
            if file_hash(entry / rel) != info.get("blake2b"):
                return f"{rel} does not match its hash"
    return None


def hashes_by_path(entry: Path) -> dict[Path, str]:
    """Absolute path -> expected blake2b, to check files as they are copied out."""
    data = read(entry) or {"files": {}}
    return {entry / rel: info.get("blake2b", "") for rel, info in data["files"].items()}
