"""Name-to-class registries filled by plugins; lookups give 'did you mean' errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from olivine.errors import ConfigError, DuplicateNameError
from olivine.suggest import did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Registered(Generic[T]):
    cls: type[T]
    plugin: str
    distribution: str
    version: str


class Registry(Generic[T]):
    """All registered classes of one kind (``pass``, ``system``, ...) by user-visible name."""

    def __init__(self, kind: str, base: type):
        self.kind = kind
        self.base = base
        self._entries: dict[str, Registered[T]] = {}

    def add(self, cls: type[T], plugin: str, distribution: str, version: str) -> None:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"plugin {plugin} registered {cls!r} as a {self.kind}, "
                            f"but it is not a subclass of olivine.{self.base.__name__}")
        name = getattr(cls, "name", "") or cls.__name__
        existing = self._entries.get(name)
        if existing is not None and existing.cls is not cls:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is registered twice: by {existing.distribution} "
                f"(plugin {existing.plugin}) and by {distribution} (plugin {plugin}); "
                f"uninstall one or choose plugins with OLIVINE_LOAD_PLUGINS")
        self._entries[name] = Registered(cls, plugin, distribution, version)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str, path: str = "") -> Registered[T]:
        try:
            return self._entries[name]
        except KeyError:
            hint = did_you_mean(name, self._entries) or f"installed: {', '.join(self.names()) or 'none'}"
            raise ConfigError(path, f"unknown {self.kind} type {name!r}", hint) from None

    def get(self, name: str, path: str = "") -> type[T]:
        return self.entry(name, path).cls
