"""Content-addressed cache of pass outputs and evaluations.

Layout under the cache dir::

    models/<key>/        a finished pass output: ``ref.json``, the model files, ``manifest.json`` (last);
                         or, for an output left where a remote system wrote it, ``ref.json`` pointing at
                         it (``metadata["remote"]``) and the pass's small files, until ``localize``
    evals/<key>.json     a finished evaluation
    work/<key>-<token>/  a pass being produced (under the key's lock); renamed into models/ when done
    checkpoints/<key>/   resumable state of an unfinished pass (training checkpoints)
    locks/<key>.lock     a held file lock while one run produces an entry: concurrent runs wait, then hit
    resources/<key>/     downloaded resources (cloud data, registry models)
    corrupt/             entries found damaged, moved aside for inspection (``olivine cache prune`` empties it)

The cache may be shared by a team, so everything read from it is checked: an entry counts only if its
manifest matches its files, and nothing in it is unpickled. Liveness of another run comes from the
file locks it holds (they die with its process, in any pid namespace), never from pids.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from olivine import manifest
from olivine.durable import atomic_write_text, fsync_dir
from olivine.errors import CacheLockTimeout, OlivineError
from olivine.models import ModelRef, content_key, model_key

log = logging.getLogger("olivine.cache")
LOCK_TIMEOUT_S = 24 * 3600
LOCK_TIMEOUT_ENV = "OLIVINE_CACHE_LOCK_TIMEOUT"
LOCK_REPORT_EVERY_S = 30.0
MEMO_LIMIT = 20000  # content-hashes.json entries kept (the most recent); each is ~150 bytes
SUBDIRS = ("models", "evals", "work", "checkpoints", "locks", "resources", "corrupt")


class CacheError(OlivineError):
    """The cache dir cannot be used (read-only, no space, not a folder); the message names the path."""


def digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def lock_timeout() -> float:
    value = os.environ.get(LOCK_TIMEOUT_ENV)
    try:
        return float(value) if value else LOCK_TIMEOUT_S
    except ValueError:
        raise CacheError(f"{LOCK_TIMEOUT_ENV}={value!r}: expected a number of seconds") from None


def read_content_hashes(cache_dir: Path) -> dict[str, str]:
    """File digests the cache computed: ``"<resolved path>|<size>|<mtime_ns>" -> sha256 hex``.

    Public for systems that hash inputs themselves (AzureML uploads): read-only, never unpickled.
    """
    try:
        data = json.loads((Path(cache_dir) / "content-hashes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(data, dict) else {}


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)
        try:
            for sub in SUBDIRS:
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cache dir {self.root}: {exc.strerror or exc}") from exc
        self._memo_file = self.root / "content-hashes.json"
        self._memo: dict[str, str] = read_content_hashes(self.root)
        self._memo_known = len(self._memo)
        self.clean_dead_work()

    # keys -------------------------------------------------------------------------------------
    def model_key(self, model: ModelRef) -> str:
        """Key of a model: derived from the pass that made it, else hashed from its files."""
        known = model.metadata.get("cache_key")
        if known:
            return known
        key = model_key(model, self._memo)
        self._write_memo()
        return key

    def file_key(self, path: Path) -> str:
        key = content_key(path, self._memo)
        self._write_memo()
        return key

    # model entries ----------------------------------------------------------------------------
    def lookup(self, key: str, repair: bool = False) -> tuple[ModelRef, dict[str, Any]] | None:
        """The finished entry for ``key``, or None. ``repair`` (only under the key's lock): a damaged
        entry is reported with its path, moved aside, and None returned so the pass runs again."""
        entry = self.root / "models" / key
        if not entry.exists():
            return None
        reason = manifest.problem(entry, key)
        found = None if reason else self._read_ref(entry)
        if found is None:
            if repair:
                self.set_aside(entry, reason or "ref.json is unreadable")
            return None
        with contextlib.suppress(OSError):  # last use, for ``olivine cache prune`` (a read-only cache: skipped)
            os.utime(entry)
        return found

    def _read_ref(self, entry: Path) -> tuple[ModelRef, dict[str, Any]] | None:
        try:
            data = json.loads((entry / "ref.json").read_text(encoding="utf-8"))
            return ModelRef.from_json(data["model"], relative_to=entry), dict(data.get("meta") or {})
        except (OSError, ValueError, KeyError, TypeError):  # pydantic's ValidationError is a ValueError
            return None

    def set_aside(self, path: Path, reason: str, state: str = "corrupt") -> Path | None:
        """Move a damaged (or, ``state``, otherwise unusable) entry or eval file to ``corrupt/`` and say so."""
        target = self.root / "corrupt" / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        log.warning("cache entry %s: %s; %s, re-running (moved to %s)", path, reason, state, target)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None  # another run moved it first
        return target

    def work_dir(self, key: str) -> Path:
        """A fresh folder to produce ``key`` in; the caller holds ``lock(key)``, which marks it live."""
        work = self.root / "work" / f"{key}-{uuid.uuid4().hex[:12]}"
        work.mkdir(parents=True)
        return work

    def checkpoint_dir(self, key: str) -> Path:
        return self.root / "checkpoints" / key

    def commit(self, key: str, work: Path, model: ModelRef, meta: dict[str, Any]) -> ModelRef:
        """Finish a work dir: ref.json, fsync, manifest last, then one rename makes it the entry."""
        model = model.with_metadata(cache_key=key)
        atomic_write_text(work / "ref.json", json.dumps({"model": model.to_json(relative_to=work), "meta": meta},
                                                        indent=2, default=str))
        manifest.write(work, key)
        entry = self.root / "models" / key
        if entry.exists() and manifest.problem(entry, key) is None:
            shutil.rmtree(work, ignore_errors=True)  # another run finished first; identical by construction
        else:
            if entry.exists():
                self.set_aside(entry, manifest.problem(entry, key) or "damaged")
            os.replace(work, entry)
            fsync_dir(entry.parent)
        shutil.rmtree(self.checkpoint_dir(key), ignore_errors=True)
        found = self.lookup(key)
        if found is None:
            raise CacheError(f"cache entry {entry} could not be read back after writing it")
        return found[0]

    def localize(self, key: str, fetch: Callable[[ModelRef, Path], None]) -> ModelRef:
        """Bring home the model of an entry that only refers to it (``metadata["remote"]``: a pass output left
        where a remote system wrote it). ``fetch(model, dest)`` downloads it to ``dest``; the entry's other
        files and the download are committed as a fresh entry (manifest last) that replaces it in one rename,
        under the key's lock. Already local (another run fetched it): returned as is."""
        entry = self.root / "models" / key
        with self.lock(key):
            found = self.lookup(key, repair=True)
            if found is None:
                raise CacheError(f"cache entry {entry} vanished before its remote model was downloaded")
            model, meta = found
            if not model.metadata.get("remote"):
                return model
            work = self.work_dir(key)
            try:
                for rel in manifest.listing(entry):
                    if rel != "ref.json":
                        (work / rel).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(entry / rel, work / rel)
                dest = work / Path(model.path).resolve().relative_to(entry.resolve())
                dest.parent.mkdir(parents=True, exist_ok=True)
                fetch(model, dest)
                metadata = {k: v for k, v in model.metadata.items() if k != "remote"}
                local = model.model_copy(update={"path": dest, "metadata": metadata})
                atomic_write_text(work / "ref.json", json.dumps(
                    {"model": local.to_json(relative_to=work), "meta": meta}, indent=2, default=str))
                manifest.write(work, key)
                old = self.root / "work" / f"{key}-{uuid.uuid4().hex[:12]}"  # removed below, or as dead work
                os.replace(entry, old)
                os.replace(work, entry)
                fsync_dir(entry.parent)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
            found = self.lookup(key)
        if found is None:
            raise CacheError(f"cache entry {entry} could not be read back after downloading its model")
        return found[0]

    def entry_of(self, path: Path) -> Path | None:
        """The entry folder holding ``path``, if it is in this cache."""
        try:
            rel = Path(path).resolve().relative_to((self.root / "models").resolve())
        except ValueError:
            return None
        return self.root / "models" / rel.parts[0] if rel.parts else None

    def expected_hashes(self, path: Path) -> dict[Path, str]:
        """Manifest hashes of the entry holding ``path`` (empty if it is not in the cache)."""
        entry = self.entry_of(path)
        return {p.resolve(): h for p, h in manifest.hashes_by_path(entry).items()} if entry else {}

    # evaluations ------------------------------------------------------------------------------
    def lookup_eval(self, key: str) -> dict[str, Any] | None:
        file = self.root / "evals" / f"{key}.json"
        if not file.is_file():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            self.set_aside(file, "unreadable evaluation result")
            return None
        return data

    def store_eval(self, key: str, result: dict[str, Any]) -> None:
        atomic_write_text(self.root / "evals" / f"{key}.json", json.dumps(result, indent=2, default=str))

    # locking ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str, on_wait: Callable[[], None] | None = None,
             on_progress: Callable[[float], None] | None = None):
        """Hold ``locks/<key>.lock``: an OS file lock, released by the kernel when its process dies."""
        with hold_lock(self.root / "locks" / f"{key}.lock", f"cache entry {key}", on_wait, on_progress):
            yield

    def clean_dead_work(self) -> list[Path]:
        """Remove work dirs whose key lock nobody holds: their run died (SIGKILL, lost container)."""
        removed = []
        for work in sorted((self.root / "work").iterdir()):
            key = work.name.rsplit("-", 1)[0]
            if not try_lock(self.root / "locks" / f"{key}.lock", partial(shutil.rmtree, work, True)):
                continue
            removed.append(work)
        return removed

    # internals --------------------------------------------------------------------------------
    def _write_memo(self) -> None:
        """Merge with what other runs wrote meanwhile (under a lock), keep the newest MEMO_LIMIT entries."""
        if len(self._memo) == self._memo_known:
            return
        try:
            with hold_lock(self.root / "locks" / "content-hashes.lock", "content-hashes.json", None, None):
                merged = {**read_content_hashes(self.root), **self._memo}
                if len(merged) > MEMO_LIMIT:
                    merged = dict(list(merged.items())[-MEMO_LIMIT:])
                atomic_write_text(self._memo_file, json.dumps(merged))
        except OSError as exc:  # a read-only shared cache still serves hits; hashing is redone next time
            log.debug("content-hashes.json not written: %s", exc)
        self._memo_known = len(self._memo)


@contextlib.contextmanager
def hold_lock(path: Path, what: str, on_wait, on_progress):
    """Take a file lock, reporting every LOCK_REPORT_EVERY_S while waiting, up to ``lock_timeout()``."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait()
        limit, began = lock_timeout(), time.monotonic()
        while True:
            waited = time.monotonic() - began
            try:
                lock.acquire(timeout=max(0.0, min(LOCK_REPORT_EVERY_S, limit - waited)))
                break
            except Timeout:
                waited = time.monotonic() - began
                if waited >= limit:
                    raise CacheLockTimeout(f"{what} stayed locked by another run for {waited:.0f}s ({path}); "
                                           f"{LOCK_TIMEOUT_ENV} sets how long to wait") from None
                (on_progress or _log_progress(what))(waited)
    try:
        yield
    finally:
        lock.release()


def _log_progress(what: str) -> Callable[[float], None]:
    return lambda waited: log.info("%s: still waiting for another run (%.0fs)", what, waited)


def try_lock(path: Path, action: Callable[[], Any]) -> bool:
    """Run ``action`` only if nobody holds the lock at ``path`` (a dead holder's lock is free)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    try:
        action()
    finally:
        lock.release()
    return True
