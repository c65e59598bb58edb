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

    def __init__(self, kind: str, base: type, failed_plugins=lambda: []):
        self.kind = kind
        self.base = base
        self._entries: dict[str, Registered[T]] = {}
        # Duplicates are kept, not raised at load, so `olivine plugins` can still show what is installed.
        self.conflicts: list[str] = []
        self._failed_plugins = failed_plugins

    def add(self, cls: type[T], plugin: str, distribution: str, version: str) -> None:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"plugin {plugin} registered {cls!r} as a {self.kind}, "
                            f"but it is not a subclass of olivine.{self.base.__name__}")
        name = getattr(cls, "name", "") or cls.__name__
        existing = self._entries.get(name)
        if existing is not None and existing.cls is not cls:
            self.conflicts.append(
                f"{self.kind} {name!r} is registered twice: by {existing.distribution} "
                f"(plugin {existing.plugin}) and by {distribution} (plugin {plugin}); "
                f"uninstall one or choose plugins with OLIVINE_LOAD_PLUGINS")
            return
        self._entries[name] = Registered(cls, plugin, distribution, version)

    def check(self) -> None:
        """Raise on a duplicate name: any use of this registry would be ambiguous."""
        if self.conflicts:
            raise DuplicateNameError(self.conflicts[0])

    def __contains__(self, name: str) -> bool:
        self.check()
        return name in self._entries

    def __iter__(self):
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def names(self) -> list[str]:
        self.check()
        return sorted(self._entries)

    def entry(self, name: str, path: str = "") -> Registered[T]:
        self.check()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(path, f"unknown {self.kind} type {name!r}", self._unknown_hint(name)) from None

    def _unknown_hint(self, name: str) -> str:
        close = did_you_mean(name, self._entries)
        if close:
            return close
        failed = self._failed_plugins()
        if failed:
            return (f"not installed, or provided by a plugin that failed to load: {', '.join(failed)}; "
                    "see olivine plugins")
        return f"installed: {', '.join(self.names()) or 'none'}"

    def get(self, name: str, path: str = "") -> type[T]:
        return self.entry(name, path).cls
