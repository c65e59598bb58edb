"""Read a workflow file (JSON or YAML, either Olive schema) into a normalized WorkflowConfig."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from olivine.config.migrate import Migration, migrate
from olivine.config.pydantic_errors import config_errors_from
from olivine.config.schema import WorkflowConfig
from olivine.errors import ConfigError, ConfigErrors
from olivine.suggest import did_you_mean

log = logging.getLogger("olivine.config")


@dataclass
class LoadedWorkflow:
    """A parsed workflow, where it came from, and how it was migrated."""

    config: WorkflowConfig
    file: Path
    migration: Migration

    @property
    def workflow_dir(self) -> Path:
        return self.file.parent

    def user_path(self, path: str) -> str:
        return self.migration.original_path(path)


def read_raw(file: Path) -> dict[str, Any]:
    file = Path(file)
    if not file.is_file():
        raise ConfigError(str(file), "config file not found")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}:{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}") from None
    except Exception as exc:  # a yaml error: its mark (0-based) gives file:line:col as for JSON
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(file)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(where, f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(file), "a workflow config must be a JSON/YAML object")
    return data


def load_workflow(file: str | Path, claimed: Collection[str] | None = None) -> LoadedWorkflow:
    """Read, migrate and validate a workflow file. ``claimed``: the top-level sections installed plugins
    read (``Plugins.claimed_sections``); any other key beyond olivine's own is an unknown key. None: not
    checked (the file is only being read, not planned)."""
    file = Path(file).resolve()
    raw = read_raw(file)
    migration = migrate(raw)
    if migration.refused:
        raise ConfigErrors([ConfigError(path, message, hint) for path, message, hint in migration.refused])
    if migration.ignored:
        log.info("note: no effect in olivine, accepted for Olive compatibility: %s", ", ".join(migration.ignored))
    unclaimed = _unclaimed_sections(migration.config, claimed)
    try:
        config = WorkflowConfig.model_validate(migration.config)
    except ValidationError as exc:
        errors = config_errors_from(exc, WorkflowConfig, "")
        raise remap(ConfigErrors(errors.errors + unclaimed), migration) from None
    if unclaimed:
        raise remap(ConfigErrors(unclaimed), migration)
    return LoadedWorkflow(config, file, migration)


def _unclaimed_sections(config: dict[str, Any], claimed: Collection[str] | None) -> list[ConfigError]:
    if claimed is None:
        return []
    known = [*WorkflowConfig.model_fields, *claimed]
    return [ConfigError(key, "unknown key", did_you_mean(key, known))
            for key in config if key not in WorkflowConfig.model_fields and key not in claimed]


def remap(errors: ConfigErrors | ConfigError, migration: Migration) -> ConfigErrors:
    items = errors.errors if isinstance(errors, ConfigErrors) else [errors]
    return ConfigErrors([ConfigError(migration.original_path(e.path), e.message, e.hint) for e in items])
