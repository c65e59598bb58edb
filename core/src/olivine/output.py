"""Publish a run into the output dir: ``model/``, ``run.json`` and artifacts, replaced as a whole.

Published files are copies (reflinks where the filesystem has them), never hard links: an edit in the
output dir cannot reach the cache. Files copied out of a cache entry are checked against its manifest
hashes as they are read.

Publishing is all or nothing: everything is staged in ``.staging-<id>/`` and fsynced, then the journal
``.publish.json`` is written (the one rename that commits the publish), then items are swapped in.
A run killed during the swap leaves the journal; the next publish (or run) completes it before
anything else. Leftover ``.staging-*``/``.previous-*`` folders of dead runs are removed then too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from olivine.cache import Cache, digest, hold_lock
from olivine.durable import atomic_write_text, copy_file, fsync_dir, fsync_tree
from olivine.errors import OlivineError
from olivine.models import ModelRef

JOURNAL = ".publish.json"


class PublishError(OlivineError):
    """A file to publish did not match the cache's record of it."""

    def __init__(self, message: str, source: Path):
        super().__init__(message)
        self.source = source


def publish(output_dir: Path, model: ModelRef | None, run: dict[str, Any], cache: Cache | None = None) \
        -> ModelRef | None:
    """Stage everything, commit with one journal rename, swap; a failure before the commit leaves the
    previous run intact. Files from ``cache`` entries are checked against their manifest hashes."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with _publish_lock(output_dir, cache):
        recover(output_dir)
        stage = output_dir / f".staging-{uuid.uuid4().hex[:12]}"
        stage.mkdir()
        try:
            expected = cache.expected_hashes if cache is not None else (lambda path: {})
            published = _stage(stage, output_dir, model, run, expected)
            fsync_tree(stage)
        except PublishError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            entry = cache.entry_of(exc.source) if cache is not None else None
            # Under the publish lock only; a damaged entry is damaged for everyone.
            if cache is not None and entry is not None:
                cache.set_aside(entry, f"{exc.source.name} does not match its manifest hash")
            raise
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        items = sorted(item.name for item in stage.iterdir())
        previous = output_dir / f".previous-{stage.name.rsplit('-', 1)[-1]}"
        atomic_write_text(output_dir / JOURNAL, json.dumps({"staging": stage.name, "previous": previous.name,
                                                            "items": items}))
        recover(output_dir)
    return published


def recover_output(output_dir: Path, cache: Cache) -> None:
    """Complete or clean up what a killed publish left in ``output_dir``."""
    with _publish_lock(output_dir, cache):
        recover(output_dir)


def _publish_lock(output_dir: Path, cache: Cache | None):
    """One publisher per output dir at a time; the lock lives in the cache so the output dir stays clean."""
    if cache is None:
        return contextlib.nullcontext()
    return hold_lock(cache.root / "locks" / f"publish-{digest(str(output_dir.resolve()))}.lock",
                     f"output dir {output_dir}", None, None)


def _stage(stage: Path, output_dir: Path, model: ModelRef | None, run: dict[str, Any],
           expected: Callable[[Path], dict[Path, str]]) -> ModelRef | None:
    published = None
    if model is not None:
        copy_tree(model.path, stage / "model", expected(model.path))
        published = model.model_copy(update={"path": output_dir / "model"})
        if model.base_model is not None:
            (stage / "model" / "BASE_MODEL").write_text(str(model.base_model) + "\n")
    run = {**run, "output_model": published.to_json() if published else None}
    (stage / "run.json").write_text(json.dumps(run, indent=2, default=str))
    for extra in run.get("artifacts", []):
        src = Path(extra["source"])
        if src.exists():
            copy_tree(src, stage / safe_name(extra["name"]), expected(src))
    return published


def safe_name(name: str) -> str:
    """An artifact name as one file name in the output dir: separators and leading dots replaced."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return cleaned or "artifact"


def copy_tree(src: Path, dst: Path, hashes: dict[Path, str]) -> None:
    """Copy ``src`` to ``dst``; a file whose bytes differ from ``hashes`` (its cache manifest) is an error."""
    src = Path(src)
    pairs = [(src, dst)] if src.is_file() else [
        (Path(folder) / name, dst / Path(folder).relative_to(src) / name)
        for folder, _dirs, files in os.walk(src) for name in files]
    if not src.is_file():
        dst.mkdir(parents=True, exist_ok=True)
    for source, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        got = copy_file(source, target)
        want = hashes.get(source.resolve())
        if want and got != want:
            raise PublishError(f"cache file {source} does not match its manifest hash (changed after it was "
                               "cached); nothing was published: run again to re-run the pass", source)
    if not src.is_file():
        shutil.copystat(src, dst)


def recover(output_dir: Path) -> None:
    """Finish a committed publish (journal present), then remove dead staging/previous folders.
    The caller holds the output dir's publish lock, so no live run owns what is removed."""
    journal = output_dir / JOURNAL
    if journal.exists():
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))
            _swap(output_dir, output_dir / plan["staging"], output_dir / plan["previous"], plan["items"])
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable journal was never committed (it is written atomically): drop it
        journal.unlink(missing_ok=True)
        fsync_dir(output_dir)
    for leftover in output_dir.iterdir():
        if leftover.name.startswith((".staging-", ".previous-")) and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _swap(output_dir: Path, stage: Path, old: Path, items: list[str]) -> None:
    """Idempotent: each item still staged moves the current one aside, then takes its place."""
    old.mkdir(exist_ok=True)
    for name in items:
        staged, current = stage / name, output_dir / name
        if not (staged.exists() or staged.is_symlink()):
            continue  # swapped before the kill
        if (current.exists() or current.is_symlink()) and not (old / name).exists():
            os.replace(current, old / name)
        elif current.is_dir() and not current.is_symlink():
            shutil.rmtree(current)
        elif current.exists() or current.is_symlink():
            current.unlink()
        os.replace(staged, current)
    fsync_dir(output_dir)
