"""Search spaces in a pass config: which values are candidates, and the config of one candidate.

With ``engine.search_strategy`` set, a value written as Olive's ``{"type": "Categorical", "values": [...]}``
is always a search space, and a plain JSON list is one when the pass's Config does not take a list
there (``"lora_r": [8, 16]`` searches; ``"target_modules": ["q_proj", "v_proj"]`` is a value).
Without a search strategy nothing is a search space and the config is validated as written.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from olivine.errors import ConfigError

SPACE_TYPES = ("Categorical", "Conditional", "ConditionalDefault")


def is_marked_space(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in SPACE_TYPES and ("values" in value or "support" in value)


def split_space(config_cls, raw: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(config with each space at its first value, ``{"dotted.key": [choices]}``); checks every choice."""
    space: dict[str, list[Any]] = {}
    for key, value in _leaves(raw):
        if is_marked_space(value):
            space[key] = _marked_values(value, f"{path}.{key}")
        elif isinstance(value, list) and value and not _takes_list(config_cls, raw, key, value):
            space[key] = list(value)
    base = with_values(raw, {key: choices[0] for key, choices in space.items()})
    for key, choices in space.items():
        for i, choice in enumerate(choices):
            _check_choice(config_cls, with_values(base, {key: choice}), f"{path}.{key}", i)
    return base, space


def reject_marked(raw: dict[str, Any], path: str) -> None:
    """Without a search strategy, a Categorical value is a mistake worth naming."""
    for key, value in _leaves(raw):
        if is_marked_space(value):
            raise ConfigError(f"{path}.{key}", f"{value['type']} search space without engine.search_strategy",
                              'set engine.search_strategy (e.g. {"execution_order": "joint", "sampler": '
                              '"sequential"}) or give one value')


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node = out
        for part in parents:
            node = node[part]
        node[last] = value
    return out


def _leaves(raw: dict[str, Any], prefix: str = ""):
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not is_marked_space(value):
            yield from _leaves(value, dotted + ".")
        else:
            yield dotted, value


def _marked_values(value: dict[str, Any], path: str) -> list[Any]:
    if value["type"] != "Categorical":
        raise ConfigError(f"{path}.type", f"{value['type']} search spaces are not supported",
                          'use {"type": "Categorical", "values": [...]} or a list')
    values = value.get("values")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{path}.values", "a Categorical search space needs a non-empty list of values")
    return list(values)


def _takes_list(config_cls, raw: dict[str, Any], key: str, value: list[Any]) -> bool:
    """Whether the Config accepts this list as the value itself (no error located at ``key``)."""
    try:
        config_cls.model_validate(with_values(raw, {key: value}))
    except ValidationError as exc:
        return not any(_loc_key(err["loc"]).startswith(key) for err in exc.errors())
    return True


def _loc_key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int))


def _check_choice(config_cls, raw: dict[str, Any], path: str, index: int) -> None:
    try:
        config_cls.model_validate(raw)
    except ValidationError as exc:
        key = path.split(".", 2)[-1]
        mine = [e for e in exc.errors() if _loc_key(e["loc"]).startswith(key)] or exc.errors()
        raise ConfigError(f"{path}[{index}]", f"search value {raw_value(raw, key)!r}: {mine[0]['msg']}") from None


def raw_value(raw: dict[str, Any], dotted: str) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        node = node[part]
    return node
