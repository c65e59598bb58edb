"""JSON Schema of the workflow file for editors, with each installed pass and system spelled out."""

from __future__ import annotations

from typing import Any

from olivine.config.schema import WorkflowConfig
from olivine.plugins import Plugins


def workflow_schema(plugins: Plugins) -> dict[str, Any]:
    schema = WorkflowConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "olivine workflow"
    defs = schema.setdefault("$defs", {})
    defs["PassEntry"] = {"anyOf": [_entry_schema(name, plugins.passes.get(name), defs, pass_entry=True)
                                   for name in plugins.passes]}
    defs["SystemEntry"] = {"anyOf": [_entry_schema(name, plugins.systems.get(name), defs)
                                     for name in plugins.systems]}
    return schema


def _entry_schema(name: str, cls: type, defs: dict[str, Any], pass_entry: bool = False) -> dict[str, Any]:
    config = cls.config_schema()
    for key, value in config.pop("$defs", {}).items():
        defs.setdefault(key, value)
    properties = {"type": {"const": name}, **config.get("properties", {})}
    if pass_entry:
        properties.update({"host": {"type": "string"}, "evaluator": {"type": "string"},
                           "disable_search": {"type": "boolean"}})
    return {"type": "object", "title": name, "description": cls.description(), "properties": properties,
            "required": ["type", *config.get("required", [])], "additionalProperties": False}
