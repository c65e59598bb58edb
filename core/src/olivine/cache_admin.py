"""Looking after a cache dir: list entries, verify them byte for byte, prune leftovers and old entries.

Every removal of an entry happens while holding that entry's lock, so a run producing or reading it
right now is never disturbed; an entry whose lock is held is skipped.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from olivine import manifest
from olivine.cache import Cache, try_lock

STALE_LOCK_S = 3600  # a free lock file untouched this long belongs to no run: removed by prune


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    producer: str
    size: int
    used: float  # last hit or write (the folder's mtime)
    state: str  # "ok" or why it is not a finished entry


def entries(root: Path) -> list[Entry]:
    found = []
    for path in sorted((root / "models").iterdir()):
        problem = manifest.problem(path, path.name)
        found.append(Entry(path.name, path, _producer(path), _size(path), path.stat().st_mtime,
                           "ok" if problem is None else f"damaged: {problem}"))
    return found


def verify(root: Path) -> tuple[int, list[tuple[Path, str]]]:
    """Hash every file of every entry; a damaged one is set aside (under its lock) and reported."""
    cache = Cache(root)
    damaged = []
    checked = 0
    for path in sorted((root / "models").iterdir()):
        checked += 1
        problem = manifest.problem(path, path.name, hashes=True)
        if problem is not None and try_lock(_lock(root, path.name), partial(cache.set_aside, path, problem)):
            damaged.append((path, problem))
    return checked, damaged


def prune(root: Path, older_than: float | None, max_size: int | None, dry_run: bool) -> list[tuple[Path, int]]:
    """Remove dead-run leftovers, then entries unused for ``older_than`` seconds, then least recently used
    entries until the cache holds at most ``max_size`` bytes. Returns (path, bytes) of each removal."""
    Cache(root)  # removes work dirs of dead runs on the way in
    removed: list[tuple[Path, int]] = []

    def drop(path: Path, key: str | None) -> None:
        size = _size(path)
        if dry_run:
            removed.append((path, size))
        elif key is None or try_lock(_lock(root, key), partial(_remove, path)):
            if key is None:
                _remove(path)
            removed.append((path, size))

    for path in sorted((root / "corrupt").iterdir()):
        drop(path, None)
    for checkpoints in sorted((root / "checkpoints").iterdir()):
        for stale in checkpoints.glob(".step-*.tmp"):
            drop(stale, checkpoints.name)
    now = time.time()
    for lock in sorted((root / "locks").glob("*.lock")):
        if now - lock.stat().st_mtime > STALE_LOCK_S and not dry_run:
            try_lock(lock, partial(lock.unlink, missing_ok=True))
    if older_than is not None:
        for entry in entries(root):
            if now - entry.used > older_than:
                drop(entry.path, entry.key)
        for checkpoints in sorted((root / "checkpoints").iterdir()):
            if checkpoints.is_dir() and now - checkpoints.stat().st_mtime > older_than:
                drop(checkpoints, checkpoints.name)
        for result in sorted((root / "evals").glob("*.json")):
            if now - result.stat().st_mtime > older_than:
                drop(result, None)
    if max_size is not None:
        gone = {p for p, _ in removed}
        left = [e for e in entries(root) if e.path not in gone]
        total = sum(e.size for e in left) + _size(root / "checkpoints") + _size(root / "evals")
        for entry in sorted(left, key=lambda e: e.used):
            if total <= max_size:
                break
            before = len(removed)
            drop(entry.path, entry.key)
            if len(removed) > before:
                total -= entry.size
    return removed


def _lock(root: Path, key: str) -> Path:
    return root / "locks" / f"{key}.lock"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _producer(entry: Path) -> str:
    try:
        return str(json.loads((entry / "ref.json").read_text(encoding="utf-8")).get("meta", {}).get("pass", "?"))
    except (OSError, ValueError, AttributeError):
        return "?"


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
