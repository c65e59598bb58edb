"""Content-addressed cache of pass outputs and evaluations.

Layout under the cache dir::

    models/<key>/        a finished pass output (``ref.json`` + the model files)
    evals/<key>.json     a finished evaluation
    work/<key>-<pid>/    a pass being produced; renamed into models/ when it succeeds
    checkpoints/<key>/   resumable state of an unfinished pass (training checkpoints)
    locks/<key>.lock     held while one run produces an entry, so concurrent runs wait, then hit
    resources/<key>/     downloaded resources (cloud data, registry models)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from olivine.errors import CacheLockTimeout
from olivine.models import ModelRef, content_key, model_key

LOCK_TIMEOUT_S = 24 * 3600


def digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("models", "evals", "work", "checkpoints", "locks", "resources"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._memo_file = self.root / "content-hashes.json"
        self._memo: dict[str, str] = self._read_memo()
        self._clean_abandoned_work()

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
    def lookup(self, key: str) -> tuple[ModelRef, dict[str, Any]] | None:
        entry = self.root / "models" / key
        ref_file = entry / "ref.json"
        if not ref_file.is_file():
            return None
        data = json.loads(ref_file.read_text())
        return ModelRef.from_json(data["model"], relative_to=entry), data.get("meta", {})

    def work_dir(self, key: str) -> Path:
        work = self.root / "work" / f"{key}-{os.getpid()}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        return work

    def checkpoint_dir(self, key: str) -> Path:
        return self.root / "checkpoints" / key

    def commit(self, key: str, work: Path, model: ModelRef, meta: dict[str, Any]) -> ModelRef:
        """Make a finished work dir the cache entry for ``key`` in one rename."""
        model = model.with_metadata(cache_key=key)
        (work / "ref.json").write_text(json.dumps({"model": model.to_json(relative_to=work), "meta": meta},
                                                  indent=2, default=str))
        entry = self.root / "models" / key
        if entry.exists():  # another run finished first; ours is identical by construction
            shutil.rmtree(work, ignore_errors=True)
        else:
            os.replace(work, entry)
        shutil.rmtree(self.checkpoint_dir(key), ignore_errors=True)
        found = self.lookup(key)
        assert found is not None
        return found[0]

    # evaluations ------------------------------------------------------------------------------
    def lookup_eval(self, key: str) -> dict[str, Any] | None:
        file = self.root / "evals" / f"{key}.json"
        return json.loads(file.read_text()) if file.is_file() else None

    def store_eval(self, key: str, result: dict[str, Any]) -> None:
        _atomic_write(self.root / "evals" / f"{key}.json", json.dumps(result, indent=2, default=str))

    # locking ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str, on_wait=None):
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "locks" / f"{key}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait:
                on_wait()
            try:
                lock.acquire(timeout=LOCK_TIMEOUT_S)
            except Timeout:
                raise CacheLockTimeout(f"cache entry {key} stayed locked for {LOCK_TIMEOUT_S}s") from None
        try:
            yield
        finally:
            lock.release()

    # internals --------------------------------------------------------------------------------
    def _read_memo(self) -> dict[str, str]:
        try:
            return json.loads(self._memo_file.read_text())
        except (OSError, ValueError):
            return {}

    def _write_memo(self) -> None:
        _atomic_write(self._memo_file, json.dumps(self._memo))

    def _clean_abandoned_work(self) -> None:
        """Remove work dirs of runs that died (SIGKILL): their pid no longer exists."""
        for work in (self.root / "work").iterdir():
            pid = work.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(work, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
