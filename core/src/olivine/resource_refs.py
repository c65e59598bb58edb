"""Turn a config value (``{"type": ..., "config": ...}`` or a URI) into a Resource instance."""

from __future__ import annotations

from typing import Any

from olivine.errors import ConfigError
from olivine.plugins import Plugins
from olivine.resources import Resource


def resource_from(value: Any, plugins: Plugins, path: str) -> Resource:
    if isinstance(value, str):
        scheme = value.split("://", 1)[0]
        for name in plugins.resources:
            cls = plugins.resources.get(name)
            if scheme in cls.schemes:
                return cls(uri=value)
        raise ConfigError(path, f"no installed resource handles {scheme}:// URIs",
                          "install the plugin that provides it (olivine resources lists the installed ones)")
    cls = plugins.resources.get(value["type"], f"{path}.type")
    raw = value.get("config", {k: v for k, v in value.items() if k != "type"})
    return cls(cls.parse_config(raw, f"{path}.config" if "config" in value else path))
