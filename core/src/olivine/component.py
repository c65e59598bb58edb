"""What every registered class shares: a user-visible name, a pydantic Config, a description."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class StrictConfig(BaseModel):
    """Base of every component Config: unknown keys are errors, aliases and names both accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


ConfigT = TypeVar("ConfigT", bound=StrictConfig)
ConfigModel = TypeVar("ConfigModel", bound=BaseModel)


def parse_config(config_class: type[ConfigModel], raw: dict[str, Any] | None, path: str) -> ConfigModel:
    """Validate ``raw`` into ``config_class``; every error is a ConfigError naming its JSON path under ``path``."""
    from olivine.config.pydantic_errors import config_errors_from

    try:
        return config_class.model_validate(raw or {})
    except ValidationError as exc:
        raise config_errors_from(exc, config_class, path) from None


class Component(Generic[ConfigT]):
    """Base of passes, systems, evaluators and resources, generic over their Config class.

    ``class Tag(Pass["Tag.Config"])`` with a nested ``class Config(StrictConfig)`` lets a type checker
    know ``self.config.<field>``; a plain ``class Tag(Pass)`` works too, untyped.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[StrictConfig]] = StrictConfig
    # Top-level workflow sections this class reads (``{"acme_client": AcmeClientConfig}``; None: any
    # object). Installed classes claim them: a top-level key no one claims is an unknown key.
    config_sections: ClassVar[dict[str, type[BaseModel] | None]] = {}
    config: ConfigT

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def parse_config(cls, raw: dict[str, Any] | None, path: str) -> StrictConfig:
        """Validate ``raw`` into ``cls.Config``; errors carry ``path`` and a 'did you mean'."""
        return parse_config(cls.Config, raw, path)

    def _default_config(self, config: ConfigT | None) -> ConfigT:
        # Config is a ClassVar (it cannot name the type variable); subclasses bind the two together.
        return config if config is not None else self.Config()  # type: ignore[return-value]

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()
