"""Olive's old workflow schema (Phi-3 cookbook era) to the current one, recording where each key came
from so that errors name the path the user actually wrote."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from olivine.config import olive13
from olivine.config.schema import ENGINE_FIELDS

# Old pre-processing names to current ones (Olive renamed them with the text-gen rewrite).
PRE_PROCESS_RENAMES = {"corpus_strategy": "strategy", "source_max_len": "max_seq_len"}
LOAD_DATASET_KEYS = ("data_name", "subset", "split", "data_files", "trust_remote_code", "streaming",
                     "data_dir", "col_filters")
DEVICE_OF_PROVIDER = {"CPUExecutionProvider": "cpu", "OpenVINOExecutionProvider": "cpu",
                      "QNNExecutionProvider": "npu", "VitisAIExecutionProvider": "npu"}


@dataclass
class Migration:
    """The migrated config, the origin of each moved key, and human notes on what changed."""

    config: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Olive keys with no effect in olivine (one note per run) and Olive settings olivine refuses.
    ignored: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str | None]] = field(default_factory=list)

    def moved(self, new_path: str, old_path: str) -> None:
        self.origins[new_path] = old_path

    def original_path(self, path: str) -> str:
        """Map a path in the migrated config back to the user's file (longest known prefix)."""
        best = ""
        for new in self.origins:
            if (path == new or path.startswith(new + ".") or path.startswith(new + "[")) and len(new) > len(best):
                best = new
        return self.origins[best] + path[len(best):] if best else path

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def migrate(raw: dict[str, Any]) -> Migration:
    m = Migration(copy.deepcopy(raw))
    m.config.pop("$schema", None)  # an editor hint (Olive's cookbook configs start with one), not workflow
    _engine_to_section(m)
    _input_model(m)
    _data_configs(m)
    for section in ("passes", "systems"):
        _unwrap_config(m, section)
    _execution_providers(m)
    _search_strategy(m)
    olive13.apply(m)
    return m


def _engine_to_section(m: Migration) -> None:
    """Current Olive also accepts engine fields at the top level; keep them in ``engine``."""
    cfg = m.config
    engine = cfg.setdefault("engine", {}) if isinstance(cfg.get("engine", {}), dict) else cfg["engine"]
    for key in (*ENGINE_FIELDS, *olive13.NO_EFFECT_ENGINE_KEYS):
        if key in cfg and isinstance(engine, dict):
            engine[key] = cfg.pop(key)
            m.moved(f"engine.{key}", key)


def _input_model(m: Migration) -> None:
    model = m.config.get("input_model")
    if not isinstance(model, dict) or not isinstance(model.get("config"), dict):
        return
    inner = model.pop("config")
    old_type = model.get("type", "PyTorchModel")
    hf_config = inner.pop("hf_config", None) or {}
    if old_type in ("PyTorchModel", "HFModel", "HfModel"):
        model["type"] = "HfModel"
    for key, value in inner.items():
        model[key] = value
        m.moved(f"input_model.{key}", f"input_model.config.{key}")
    if hf_config:
        if "model_path" not in model and "model_name" in hf_config:
            model["model_path"] = hf_config["model_name"]
            m.moved("input_model.model_path", "input_model.config.hf_config.model_name")
        if "task" in hf_config:
            model["task"] = hf_config["task"]
            m.moved("input_model.task", "input_model.config.hf_config.task")
        for old in ("model_loading_args", "from_pretrained_args", "load_kwargs"):
            if old in hf_config:
                model.setdefault("load_kwargs", {}).update(hf_config[old])
                m.moved("input_model.load_kwargs", f"input_model.config.hf_config.{old}")
        leftover = set(hf_config) - {"model_name", "task", "model_loading_args", "from_pretrained_args",
                                     "load_kwargs"}
        for key in sorted(leftover):
            model[key] = hf_config[key]
            m.moved(f"input_model.{key}", f"input_model.config.hf_config.{key}")
    m.notes.append(f"input_model: {old_type} with config/hf_config -> {model['type']} with model_path, "
                   "load_kwargs")


def _data_configs(m: Migration) -> None:
    configs = m.config.get("data_configs")
    if isinstance(configs, dict):
        # Olive once allowed a mapping of name -> config.
        m.config["data_configs"] = [{"name": name, **value} for name, value in configs.items()]
        for i, name in enumerate(configs):
            m.moved(f"data_configs[{i}]", f"data_configs.{name}")
        m.notes.append("data_configs: mapping -> list with names")
    for i, data in enumerate(m.config.get("data_configs") or []):
        if isinstance(data, dict):
            _data_config(m, data, i)


def _data_config(m: Migration, data: dict[str, Any], i: int) -> None:
    base = f"data_configs[{i}]"
    origin = m.original_path(base)
    kwargs_origin = f"{origin}.component_kwargs"
    if "params_config" in data:
        params = data.pop("params_config") or {}
        if isinstance(params.get("component_kwargs"), dict) and "component_kwargs" not in data:
            # the Phi-3 cookbook nests component_kwargs inside params_config
            data["component_kwargs"] = params.pop("component_kwargs")
            kwargs_origin = f"{origin}.params_config.component_kwargs"
        load = data.setdefault("load_dataset_config", {})
        pre = data.setdefault("pre_process_data_config", {})
        for key, value in params.items():
            target, section = (load, "load_dataset_config") if key in LOAD_DATASET_KEYS else (
                pre, "pre_process_data_config")
            target[key] = value
            m.moved(f"{base}.{section}.{key}", f"{origin}.params_config.{key}")
        m.notes.append(f"{origin}: params_config -> load_dataset_config / pre_process_data_config")
    components = data.pop("components", None) or {}
    kwargs = data.pop("component_kwargs", None) or {}
    for component, section in (("load_dataset", "load_dataset_config"),
                               ("pre_process_data", "pre_process_data_config"),
                               ("post_process_data", "post_process_data_config"),
                               ("dataloader", "dataloader_config")):
        if component in components and isinstance(components[component], dict):
            kwargs.setdefault(component, {}).update(components[component].get("params", {}))
        for key, value in (kwargs.get(component) or {}).items():
            data.setdefault(section, {})[key] = value
            m.moved(f"{base}.{section}.{key}", f"{kwargs_origin}.{component}.{key}")
    if kwargs or components:
        m.notes.append(f"{origin}: component_kwargs -> *_config sections")
    for section in ("load_dataset_config", "pre_process_data_config", "post_process_data_config",
                    "dataloader_config"):
        _unwrap_params(m, data, section, base, origin)
    _rename_pre_process(m, data, base, origin)


def _unwrap_params(m: Migration, data: dict[str, Any], section: str, base: str, origin: str) -> None:
    value = data.get(section)
    if not isinstance(value, dict) or "params" not in value:
        return
    params = value.pop("params") or {}
    value.pop("type", None)  # the old component type named the default implementation
    for key, item in params.items():
        value[key] = item
        m.moved(f"{base}.{section}.{key}", f"{origin}.{section}.params.{key}")
    m.notes.append(f"{origin}.{section}: params wrapper removed")


def _rename_pre_process(m: Migration, data: dict[str, Any], base: str, origin: str) -> None:
    pre = data.get("pre_process_data_config")
    if not isinstance(pre, dict):
        return
    for old, new in PRE_PROCESS_RENAMES.items():
        if old in pre and new not in pre:
            pre[new] = pre.pop(old)
            old_origin = m.original_path(f"{base}.pre_process_data_config.{old}")
            m.origins.pop(f"{base}.pre_process_data_config.{old}", None)
            m.moved(f"{base}.pre_process_data_config.{new}", old_origin)
            m.notes.append(f"{origin}.pre_process_data_config: {old} -> {new}")


def _unwrap_config(m: Migration, section: str) -> None:
    entries = m.config.get(section)
    if not isinstance(entries, dict):
        return
    for key, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            continue
        inner = entry.pop("config")
        for name, value in inner.items():
            entry[name] = value
            m.moved(f"{section}.{key}.{name}", f"{section}.{key}.config.{name}")
        m.notes.append(f"{section}.{key}: config wrapper flattened")


def _execution_providers(m: Migration) -> None:
    """Old ``engine.execution_providers`` becomes the target system's accelerator."""
    engine = m.config.get("engine")
    if not isinstance(engine, dict) or not engine.get("execution_providers"):
        return
    providers = engine.pop("execution_providers")
    systems = m.config.setdefault("systems", {})
    target = engine.get("target") or engine.get("host")
    device = DEVICE_OF_PROVIDER.get(providers[0], "gpu")
    if not target or target not in systems:
        target = "local_system"
        systems.setdefault(target, {"type": "LocalSystem"})
        engine.setdefault("target", target)
        engine.setdefault("host", target)
    system = systems[target]
    accelerators = system.get("accelerators") or [{"device": device}]
    first = accelerators[0] if isinstance(accelerators[0], dict) else {"device": accelerators[0]}
    first["execution_providers"] = list(providers)
    system["accelerators"] = [first, *accelerators[1:]]
    m.moved(f"systems.{target}.accelerators", "engine.execution_providers")
    m.notes.append(f"engine.execution_providers -> systems.{target}.accelerators[0].execution_providers")


SEARCH_ALGORITHMS = {"exhaustive": "sequential", "random": "random", "tpe": "tpe"}


def _search_strategy(m: Migration) -> None:
    """Olive's older ``search_algorithm`` and ``search_algorithm_config`` -> ``sampler``, ``max_samples``, ``seed``."""
    engine = m.config.get("engine")
    strategy = engine.get("search_strategy") if isinstance(engine, dict) else None
    if not isinstance(strategy, dict) or "search_algorithm" not in strategy:
        return
    base = "engine.search_strategy"
    origin = m.original_path(base)
    algorithm = strategy.pop("search_algorithm")
    strategy["sampler"] = SEARCH_ALGORITHMS.get(algorithm, algorithm)
    m.moved(f"{base}.sampler", f"{origin}.search_algorithm")
    settings = strategy.pop("search_algorithm_config", None) or {}
    for old, new in (("num_samples", "max_samples"), ("seed", "seed")):
        if old in settings:
            strategy[new] = settings.pop(old)
            m.moved(f"{base}.{new}", f"{origin}.search_algorithm_config.{old}")
    for key, value in settings.items():  # left for validation to name as unknown keys
        strategy[key] = value
        m.moved(f"{base}.{key}", f"{origin}.search_algorithm_config.{key}")
    m.notes.append(f"{origin}: search_algorithm -> sampler, search_algorithm_config -> max_samples / seed")
