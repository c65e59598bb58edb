"""Turn pydantic validation errors into ConfigErrors with JSON paths and 'did you mean' hints."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from olivine.errors import ConfigError, ConfigErrors
from olivine.suggest import did_you_mean


def config_errors_from(exc: ValidationError, model: type[BaseModel], prefix: str) -> ConfigErrors:
    errors = []
    items = [(item, _clean_loc(model, item["loc"])) for item in exc.errors()]
    reported: set[str] = set()
    for item, loc in items:
        if _lost_union_branch(loc, items):
            continue
        path = join_path(prefix, *loc)
        if path in reported:  # each member of a union the value failed says so: one bad value, one error
            continue
        reported.add(path)
        if item["type"] == "extra_forbidden":
            allowed = allowed_keys(model, loc[:-1])
            errors.append(ConfigError(path, "unknown key", did_you_mean(str(loc[-1]), allowed)))
        elif item["type"] == "missing":
            errors.append(ConfigError(path, "required key is missing"))
        else:
            errors.append(ConfigError(path, _message(item)))
    return ConfigErrors(errors)


def join_path(prefix: str, *parts: Any) -> str:
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text


def allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """Field names and aliases of the sub-model found by walking ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = next((c for c in _unwrap(current) if isinstance(c, type) and issubclass(c, BaseModel)), None)
    if current is None:
        return []
    keys = []
    for name, field in current.model_fields.items():
        keys.append(field.alias or name)
        keys.append(name)
        choices = getattr(field.validation_alias, "choices", None)
        if choices:
            keys.extend(c for c in choices if isinstance(c, str))
        elif isinstance(field.validation_alias, str):
            keys.append(field.validation_alias)
    return sorted(set(keys))


def _step(current: Any, part: Any) -> Any:
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            field = candidate.model_fields.get(part) or next(
                (f for f in candidate.model_fields.values() if f.alias == part), None)
            if field is not None:
                return field.annotation
        origin = typing.get_origin(candidate)
        if origin in (list, tuple) and isinstance(part, int):
            return typing.get_args(candidate)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(candidate)[1]
    return None


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _clean_loc(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """``loc`` without the names pydantic inserts for the member of a union it tried."""
    current: Any = model
    cleaned = []
    for part in loc:
        members = _unwrap(current) if current is not None else []
        models = {m.__name__: m for m in members if isinstance(m, type) and issubclass(m, BaseModel)}
        if len(members) > 1 and part in models:
            current = models[part]
            continue
        if _is_union_tag(part):
            continue
        cleaned.append(part)
        current = _step(current, part) if current is not None else None
    return cleaned


def _lost_union_branch(loc: list[Any], items: Sequence[tuple[Mapping[str, Any], list[Any]]]) -> bool:
    """A type error on a value whose own keys also have errors came from another union member
    (``search_strategy: {...}`` is not a bool); the errors inside the value are the real ones."""
    return any(len(other) > len(loc) and other[:len(loc)] == loc for _, other in items)


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the tried type's name into loc for unions ('list[str]', 'function-after[...]')
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool", "dict", "list"))


def _message(item: Mapping[str, Any]) -> str:
    message = item["msg"].removeprefix("Value error, ")  # our validators' messages stand alone
    if "input" in item and not isinstance(item["input"], (dict, list)):
        message += f" (got {item['input']!r})"
    return message
