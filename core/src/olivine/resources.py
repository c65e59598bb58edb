"""Resource: a config reference (``{"type": ..., "config": ...}`` or a URI) resolved to a local path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from olivine.component import Component, ConfigT, StrictConfig


@dataclass
class ResourceContext:
    """Where a resource may download to, and the workflow's own folder for relative paths."""

    download_dir: Path
    workflow_dir: Path
    # The workflow's top-level sections that installed plugins claim (``config_sections``), as written.
    sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Any:
        """The workflow's top-level section ``name`` as written (a plugin's own, such as a cloud workspace), or None."""
        return self.sections.get(name)


class Resource(Component[ConfigT]):
    """Base of every resource type. ``schemes`` lists URI schemes it claims (``azureml``)."""

    schemes: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[type[StrictConfig]] = StrictConfig

    def __init__(self, config: ConfigT | None = None, uri: str | None = None):
        self.config = self._default_config(config)
        self.uri = uri

    def identity(self) -> str:
        """A stable string naming what this resource points at (cache key of the download)."""
        return self.uri or self.config.model_dump_json()

    def fetch(self, ctx: ResourceContext) -> Path:
        raise NotImplementedError
