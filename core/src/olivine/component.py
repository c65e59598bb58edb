"""What every registered class shares: a user-visible name, a pydantic Config, a description."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class StrictConfig(BaseModel):
    """Base of every component Config: unknown keys are errors, aliases and names both accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


class Component:
    """Base of passes, systems, evaluators and resources."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[StrictConfig]] = StrictConfig

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, path: str) -> StrictConfig:
        """Validate ``raw`` into ``cls.Config``; errors carry ``path`` and a 'did you mean'."""
        from olivine.config.pydantic_errors import config_errors_from

        try:
            return cls.Config.model_validate(raw or {})
        except ValidationError as exc:
            raise config_errors_from(exc, cls.Config, path) from None

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()
