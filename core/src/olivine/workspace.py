"""Before any work: names that become file names are safe, and the output and cache dirs are usable
and apart from the user's files (``clean_cache`` deletes the cache dir)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from olivine.errors import ConfigError
from olivine.paths import resolve_path

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SAFE_HINT = "use letters, digits, '.', '_' and '-', starting with a letter or digit: it becomes a file name"


def name_error(path: str, value: str, what: str) -> ConfigError | None:
    if SAFE_NAME.fullmatch(value) and ".." not in value:
        return None
    return ConfigError(path, f"{what} {value!r} is not a safe file name", SAFE_HINT)


def workspace_errors(loaded, output_dir: Path, cache_dir: Path) -> list[ConfigError]:
    """Every problem with pass keys, the output dir and the cache dir, each naming its JSON path."""
    errors = [e for key in loaded.config.passes if (e := name_error(f"passes.{key}", key, "pass key"))]
    for path, folder in (("engine.output_dir", output_dir), ("engine.cache_dir", cache_dir)):
        problem = folder_problem(folder)
        if problem:
            errors.append(ConfigError(path, f"{folder}: {problem}"))
    if loaded.config.engine.clean_cache:
        for what, inside in _protected(loaded, output_dir):
            if _within(inside, cache_dir):
                errors.append(ConfigError("engine.cache_dir", f"clean_cache would delete {cache_dir}, which holds "
                                          f"{what} {inside}", "point cache_dir at a folder of its own"))
                break
    return errors


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written (None: it can). Probes with a temp file, removed at once."""
    existing = folder
    while not existing.exists() and not existing.is_symlink():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder" if existing == folder else f"cannot be created: {existing} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".olivine-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = "" if existing == folder else f" (in {existing})"
        return f"not writable{where}: {exc.strerror or exc}"
    return None


def _protected(loaded, output_dir: Path) -> Iterator[tuple[str, Path]]:
    """The user's files a cache dir must not contain: the workflow, the output, models and data."""
    yield "the workflow file", loaded.file.resolve()
    yield "the output dir", output_dir
    config = loaded.config
    for section, what in ((config.input_model, "the input model"), (config.data_configs, "data")):
        for value in _strings(section.model_dump() if hasattr(section, "model_dump") else
                              [d.model_dump() for d in section]):
            path = resolve_path(value, loaded.workflow_dir)
            if value and os.path.exists(path):
                yield what, path.resolve()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
