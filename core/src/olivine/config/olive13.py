"""Olive 0.13's current schema where it differs from olivine's normalized form: engine keys with no
effect here, inline system configs, ``LMEvaluator``-style evaluators, case-insensitive type names.

What Olive accepts, olivine accepts: a key with no effect becomes one note; only what would fail or
silently do something else than asked is refused (``Migration.refused``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from olivine.config.migrate import Migration

# Olive engine options that change nothing in what olivine produces (logging, artifact files, cache tuning).
NO_EFFECT_ENGINE_KEYS = ("no_artifacts", "ort_log_severity_level", "ort_py_log_severity_level", "log_to_file",
                         "clean_evaluation_cache", "enable_shared_cache", "cache_config")
INPUT_MODEL_TYPES = {"hfmodel": "HfModel", "pytorchmodel": "PyTorchModel", "onnxmodel": "ONNXModel"}
# Evaluator config fields of Olive's own evaluator class: the rest of an evaluator with a type are its options.
OLIVE_EVALUATOR_TYPES = ("oliveevaluator",)


def apply(m: Migration) -> None:
    _input_model_type(m)
    _engine_keys(m)
    for role in ("host", "target"):
        _inline_system(m, m.config.get("engine"), role, f"engine.{role}", f"engine_{role}")
    for key, entry in (m.config.get("passes") or {}).items() if isinstance(m.config.get("passes"), dict) else ():
        _inline_system(m, entry, "host", f"passes.{key}.host", f"{key}_host")
    _typed_evaluators(m)
    _top_level(m)


def _input_model_type(m: Migration) -> None:
    model = m.config.get("input_model")
    if isinstance(model, dict) and isinstance(model.get("type"), str):
        model["type"] = INPUT_MODEL_TYPES.get(model["type"].lower(), model["type"])


def _engine_keys(m: Migration) -> None:
    engine = m.config.get("engine")
    if not isinstance(engine, dict):
        return
    cache_config = engine.get("cache_config")
    if isinstance(cache_config, dict):
        # Olive's cache_config carries the cache folder and clean flag; both act here as engine keys.
        for key in ("cache_dir", "clean_cache"):
            if key in cache_config:
                engine[key] = cache_config.pop(key)
                m.moved(f"engine.{key}", f"{m.original_path('engine.cache_config')}.{key}")
        if not cache_config:
            engine.pop("cache_config")
    for key in NO_EFFECT_ENGINE_KEYS:
        if key in engine:
            engine.pop(key)
            m.ignored.append(m.original_path(f"engine.{key}"))


def _inline_system(m: Migration, owner: Any, role: str, path: str, name: str) -> None:
    """Olive lets ``host``/``target`` be a system config itself; olivine names it in ``systems``."""
    if not isinstance(owner, dict) or not isinstance(owner.get(role), dict):
        return
    systems = m.config.setdefault("systems", {})
    if not isinstance(systems, dict):
        return
    inline = owner[role]
    existing = next((key for key, value in systems.items() if value == inline), None)
    if existing is None:
        while name in systems:
            name += "_"
        systems[name] = inline
        m.moved(f"systems.{name}", m.original_path(path))
        existing = name
    owner[role] = existing
    m.notes.append(f"{m.original_path(path)}: inline system config -> systems.{existing}")


def _typed_evaluators(m: Migration) -> None:
    """Olive 0.13 evaluators have a ``type``: its own (with ``metrics``) or another such as
    ``LMEvaluator`` whose options sit beside the type. The latter becomes one metric of that type."""
    evaluators = m.config.get("evaluators")
    if not isinstance(evaluators, dict):
        return
    for name, evaluator in evaluators.items():
        if not isinstance(evaluator, dict) or not isinstance(evaluator.get("type"), str):
            continue
        base = f"evaluators.{name}"
        origin = m.original_path(base)
        kind = evaluator.pop("type")
        if kind.lower() in OLIVE_EVALUATOR_TYPES:
            continue
        options = {key: evaluator.pop(key) for key in list(evaluator) if key != "metrics"}
        metric = {"name": name, "type": kind, "user_config": options}
        evaluator.setdefault("metrics", []).append(metric)
        index = len(evaluator["metrics"]) - 1
        m.moved(f"{base}.metrics[{index}].type", f"{origin}.type")
        for key in options:
            m.moved(f"{base}.metrics[{index}].user_config.{key}", f"{origin}.{key}")
        m.notes.append(f"{origin}: {kind} evaluator -> one {kind} metric named {name!r}")


def _top_level(m: Migration) -> None:
    if m.config.get("workflow_host") is not None:
        m.refused.append(("workflow_host", "olivine runs the workflow where it is started",
                          "run olivine on that machine, or give passes a host system that runs them there"))
    m.config.pop("workflow_host", None)
    if "auto_optimizer_config" in m.config:
        m.config.pop("auto_optimizer_config")
        if m.config.get("passes"):
            m.ignored.append("auto_optimizer_config")  # Olive too ignores it when passes are given
        else:
            m.refused.append(("auto_optimizer_config", "olivine does not choose passes for you",
                              "list the passes to run in passes"))
