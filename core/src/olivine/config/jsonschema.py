"""JSON Schema of the workflow file for editors, with each installed pass and system spelled out.

It accepts what ``olivine config validate`` reads: Olive's current schema and the old cookbook one (``config``
wrappers, ``hf_config``, ``params_config``), the ``$schema`` key, engine fields at the top level and the
old names a Config accepts through ``AliasChoices`` (a pass's Olive-era spellings)."""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import AliasChoices, BaseModel

from olivine.component import Component
from olivine.config.olive13 import NO_EFFECT_ENGINE_KEYS
from olivine.config.schema import ENGINE_FIELDS, WorkflowConfig
from olivine.plugins import Plugins
from olivine.search_space import SPACE_TYPES

# Olive 0.13 lets a host or target be a system config itself.
INLINE_SYSTEM = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/SystemEntry"}, {"type": "null"}]}
PASS_ENTRY_KEYS: dict[str, Any] = {"host": INLINE_SYSTEM, "evaluator": {"type": "string"},
                                   "disable_search": {"type": "boolean"}}
# The old schema's data config keys, moved into the *_config sections by the migration.
OLD_DATA_KEYS = {"params_config": {"type": "object"}, "components": {"type": "object"},
                 "component_kwargs": {"type": "object"}}
OLD_HF_CONFIG_KEYS = {"model_name": {"type": "string"}, "model_loading_args": {"type": "object"},
                      "from_pretrained_args": {"type": "object"}}


def workflow_schema(plugins: Plugins) -> dict[str, Any]:
    schema = WorkflowConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "olivine workflow"
    defs = schema.setdefault("$defs", {})
    props = schema["properties"]
    props["$schema"] = {"type": "string", "description": "The JSON Schema this file follows (an editor hint)."}
    for key in ENGINE_FIELDS:  # Olive also reads engine fields at the top level
        props.setdefault(key, copy.deepcopy(defs["EngineConfig"]["properties"][key]))
    props["input_model"] = {"anyOf": [{"$ref": "#/$defs/InputModelConfig"}, _old_input_model(defs)]}
    _olive13(schema, defs)
    props["data_configs"] = {"anyOf": [props["data_configs"], {  # a mapping of name -> config (old Olive)
        "type": "object", "additionalProperties": {"$ref": "#/$defs/DataConfig"}}]}
    defs["DataConfig"]["properties"].update(OLD_DATA_KEYS)
    defs["DataConfig"]["required"] = []  # the name can come from the mapping's key
    defs["PassEntry"] = {"anyOf": [_entry_schema(name, plugins.passes.get(name), defs, pass_entry=True)
                                   for name in plugins.passes]}
    defs["SystemEntry"] = {"anyOf": [_entry_schema(name, plugins.systems.get(name), defs)
                                     for name in plugins.systems]}
    for section, model in plugins.claimed_sections().items():  # plugins' own top-level sections
        props[section] = _section_schema(section, model, defs)
    schema["additionalProperties"] = False  # other top-level keys: unknown, unless a plugin claims them
    if "AcceleratorConfig" in defs:  # SystemConfig also reads a device name alone: ["cpu"]
        defs["AcceleratorConfig"] = {"anyOf": [defs["AcceleratorConfig"], {"type": "string"}]}
    return schema


def _section_schema(name: str, model: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if model is None:
        return {"type": "object", "description": f"{name}: read by an installed plugin."}
    section = model.model_json_schema()
    for key, value in section.pop("$defs", {}).items():
        defs.setdefault(key, value)
    return section


def _olive13(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Olive 0.13's forms: engine keys with no effect here, inline host/target systems, typed evaluators."""
    no_effect = {key: {"description": "Olive's; no effect in olivine (validate notes it)."}
                 for key in NO_EFFECT_ENGINE_KEYS}
    defs["EngineConfig"]["properties"].update(no_effect)
    schema["properties"].update({**no_effect, "auto_optimizer_config": {
        "description": "Olive's; ignored when passes are given (as Olive does)."}})
    for role in ("host", "target"):
        defs["EngineConfig"]["properties"][role] = INLINE_SYSTEM
    evaluator = defs["EvaluatorConfig"]
    evaluator["properties"]["type"] = {"type": "string", "pattern": _any_case("OliveEvaluator")}
    defs["EvaluatorConfig"] = {"anyOf": [evaluator, {  # another evaluator type, its options beside the type
        "type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}]}


def _old_input_model(defs: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "PyTorchModel", "config": {"hf_config": {"model_name": ...}}}``."""
    current = defs["InputModelConfig"]["properties"]
    inner = {k: v for k, v in current.items() if k != "type"}
    # hf_config's other keys move up into the model, so it takes the model's keys too
    hf_config = {"type": "object", "additionalProperties": False, "properties": {**inner, **OLD_HF_CONFIG_KEYS}}
    return {"type": "object", "title": "old schema", "required": ["config"], "additionalProperties": False,
            "properties": {"type": current["type"], "config": {
                "type": "object", "additionalProperties": False, "properties": {**inner, "hf_config": hf_config}}}}


def _entry_schema(name: str, cls: type[Component], defs: dict[str, Any], pass_entry: bool = False) -> dict[str, Any]:
    config = cls.config_schema()
    for key, value in config.pop("$defs", {}).items():
        if key not in defs:
            defs[key] = _searchable(value) if pass_entry else value
    properties = {**config.get("properties", {}), **_alias_properties(cls.Config, config.get("properties", {}))}
    if pass_entry:
        properties = _searchable({"properties": properties})["properties"]
    entry = {"type": {"type": "string", "pattern": _any_case(name)}, **(PASS_ENTRY_KEYS if pass_entry else {})}
    flat = {"type": "object", "title": name, "description": cls.description(),
            "properties": {**entry, **properties}, "required": ["type", *config.get("required", [])],
            "additionalProperties": False}
    wrapped = {"type": "object", "title": f"{name} (old schema: config wrapper)", "required": ["type", "config"],
               "additionalProperties": False, "properties": {**entry, "config": {
                   "type": "object", "properties": properties, "required": config.get("required", []),
                   "additionalProperties": False}}}
    return {"anyOf": [flat, wrapped]}


def _searchable(schema: dict[str, Any]) -> dict[str, Any]:
    """A pass value may also be a search space: a list of candidates, or ``{"type": "Categorical", ...}``."""
    if "properties" not in schema:
        return schema
    space = {"type": "object", "required": ["type"], "properties": {"type": {"enum": list(SPACE_TYPES)}}}
    wrapped = {key: {"anyOf": [value, {"type": "array", "items": value, "minItems": 1}, space],
                     **({"description": value["description"]} if "description" in value else {})}
               for key, value in schema["properties"].items()}
    return {**schema, "properties": wrapped}


def _alias_properties(model: type[BaseModel], properties: dict[str, Any]) -> dict[str, Any]:
    """Each other name a field accepts (``AliasChoices``), with the field's schema."""
    extra = {}
    for field_name, field in model.model_fields.items():
        if not isinstance(field.validation_alias, AliasChoices):
            continue
        names = [c for c in field.validation_alias.choices if isinstance(c, str)]
        shown = next((n for n in (field_name, *names) if n in properties), None)
        for alias in names:
            if shown and alias not in properties:
                extra[alias] = {**properties[shown], "description": f"Another name of {shown}."}
    return extra



def _any_case(name: str) -> str:
    """Pass and system types match case-insensitively; JSON Schema patterns have no flag for it."""
    return "^" + "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in name) + "$"
