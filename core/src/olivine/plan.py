"""Validate a loaded workflow against the installed plugins and turn it into a runnable Plan.

Everything here is checked before any heavy work: types installed, configs valid, files present,
systems available, and the chain of model formats possible from the input model to the last pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine.config.loader import LoadedWorkflow
from olivine.config.schema import EvaluatorConfig, MetricConfig, PassEntry
from olivine.config.unsupported import unsupported_settings
from olivine.data import validate_data_config
from olivine.errors import ConfigError, ConfigErrors, OlivineError
from olivine.evaluators import Evaluator
from olivine.goals import goal_errors
from olivine.inputs import input_format, is_resource_ref, locate_input_model
from olivine.models import ModelRef
from olivine.passes import Accelerator, Pass, ValidationContext
from olivine.plugins import Plugins
from olivine.search import strategy_of
from olivine.search_space import reject_marked, split_space
from olivine.suggest import did_you_mean
from olivine.systems import System

DEFAULT_SYSTEM = "local_system"


@dataclass
class PlannedPass:
    key: str
    type: str
    instance: Pass
    raw_config: dict[str, Any]
    version: str
    distribution: str
    host: System
    input_format: str
    output_format: str
    metrics: list[PlannedMetric] = field(default_factory=list)
    # What the model is optimized for: the target's accelerator (as in Olive), wherever the pass runs.
    accelerator: Accelerator = field(default_factory=Accelerator)
    search_space: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class PlannedMetric:
    config: MetricConfig
    evaluator: Evaluator
    version: str
    path: str = ""  # evaluators.<name>.metrics[<i>]


@dataclass
class Plan:
    workflow: LoadedWorkflow
    input_path: Path | None
    input_format: str
    passes: list[PlannedPass]
    host: System
    target: System
    metrics: list[PlannedMetric] = field(default_factory=list)
    evaluator_name: str | None = None
    search: Any = None  # SearchStrategyConfig when some pass config holds a search space


class _Collector:
    """Gathers every error of one validation so the user fixes them in one go."""

    def __init__(self, loaded: LoadedWorkflow):
        self.loaded = loaded
        self.errors: list[ConfigError] = []

    def add(self, error: OlivineError) -> None:
        items = error.errors if isinstance(error, ConfigErrors) else [error]
        for item in items:
            if isinstance(item, ConfigError):
                self.errors.append(ConfigError(self.loaded.user_path(item.path), item.message, item.hint))
            else:
                self.errors.append(ConfigError("", str(item)))

    def run(self, func, *args):
        try:
            return func(*args)
        except OlivineError as exc:
            self.add(exc)
            return None


def build_plan(loaded: LoadedWorkflow, plugins: Plugins) -> Plan:
    errors = _Collector(loaded)
    cfg = loaded.config
    wdir = loaded.workflow_dir
    systems = _systems(loaded, plugins, errors)
    host = _pick_system(cfg.engine.host, "engine.host", systems, errors)
    target = _pick_system(cfg.engine.target, "engine.target", systems, errors)
    input_path = errors.run(_input_path, loaded, plugins)
    fmt = input_format(cfg.input_model, input_path)
    for i, data in enumerate(cfg.data_configs):
        for err in validate_data_config(data, f"data_configs[{i}]", wdir):
            errors.add(err)
    _duplicate_data_names(loaded, errors)
    for error in unsupported_settings(cfg):
        errors.add(error)
    vctx = ValidationContext(path="", workflow_dir=wdir, data_config_names=tuple(d.name for d in cfg.data_configs),
                             data_configs={d.name: d for d in cfg.data_configs},
                             accelerator=target.accelerator() if target else Accelerator(),
                             sections=cfg.sections(),
                             input_model=ModelRef(format=fmt, path=input_path) if input_path else None)
    passes = _passes(loaded, plugins, systems, host, fmt, vctx, errors)
    # Every evaluator is checked, used or not, and once: an error is one line however many refer to it.
    planned = {name: _planned_metrics(name, evaluator, plugins, vctx, errors)
               for name, evaluator in cfg.evaluators.items()}
    evaluator_name, metrics = _metrics(loaded, planned, errors)
    _pass_metrics(loaded, planned, passes, errors)
    evaluated = _evaluated_formats(loaded, fmt, passes, metrics)
    for system in {id(s): s for s in [host, target, *systems.values()] if s}.values():
        errors.run(system.check, ValidationContext(**{**vctx.__dict__,
                                                      "evaluated_formats": evaluated if system is target else ()}))
    search = _search(loaded, passes, metrics, errors)
    if errors.errors:
        raise ConfigErrors(errors.errors)
    assert host is not None and target is not None  # each failure to pick one is an error above
    return Plan(loaded, input_path, fmt, passes, host, target, metrics, evaluator_name, search)


def _search(loaded: LoadedWorkflow, passes: list[PlannedPass], metrics: list[PlannedMetric], errors: _Collector):
    strategy = strategy_of(loaded.config.engine)
    if strategy is None or not any(item.search_space for item in passes):
        return None
    if not metrics:
        errors.add(ConfigError("engine.evaluator", "a search compares candidates by metrics: name an evaluator",
                               f"evaluators defined: {', '.join(loaded.config.evaluators) or 'none'}"))
    elif strategy.stop_when_goals_met and not any(sub.goal for m in metrics for sub in m.config.sub_types):
        errors.add(ConfigError("engine.search_strategy.stop_when_goals_met", "no metric sub type has a goal to meet",
                               "give a sub type a goal, or remove stop_when_goals_met"))
    return strategy


def _evaluated_formats(loaded: LoadedWorkflow, fmt: str, passes: list[PlannedPass],
                       metrics: list[PlannedMetric]) -> tuple[str, ...]:
    """Formats of the models the target will evaluate, as the engine schedules evaluations."""
    stages = [(fmt, metrics)] if metrics and loaded.config.engine.evaluate_input_model else []
    for item in passes:
        stages.append((item.output_format, item.metrics or (metrics if item is passes[-1] else [])))
    return tuple(sorted({f for f, planned in stages for m in planned if m.evaluator.accepts_format(f)}))


def _systems(loaded: LoadedWorkflow, plugins: Plugins, errors: _Collector) -> dict[str, System]:
    systems: dict[str, System] = {}
    for key, entry in loaded.config.systems.items():
        path = f"systems.{key}"
        cls = errors.run(plugins.systems.get, _type_name(plugins.systems, entry.type), f"{path}.type")
        if cls is None:
            continue
        config = errors.run(cls.parse_config, entry.system_config(), path)
        if config is not None:
            systems[key] = cls(config, key=key)
    return systems


def _pick_system(name: str | None, path: str, systems: dict[str, System], errors: _Collector) -> System | None:
    if name is None:
        from olivine.builtin.local_system import LocalSystem

        return LocalSystem(key=DEFAULT_SYSTEM)
    if name in systems:
        return systems[name]
    if name not in errors.loaded.config.systems:
        errors.add(ConfigError(path, f"no system named {name!r}",
                               did_you_mean(name, systems) or f"systems defined: {', '.join(systems) or 'none'}"))
    return None


def _input_path(loaded: LoadedWorkflow, plugins: Plugins) -> Path | None:
    model = loaded.config.input_model
    value = model.model_path
    if is_resource_ref(value):
        _resource_for(value, plugins, "input_model.model_path")
        return None
    return locate_input_model(model, loaded.workflow_dir)


def _resource_for(value: Any, plugins: Plugins, path: str):
    from olivine.resource_refs import resource_from

    return resource_from(value, plugins, path)


def _duplicate_data_names(loaded: LoadedWorkflow, errors: _Collector) -> None:
    seen: set[str] = set()
    for i, data in enumerate(loaded.config.data_configs):
        if data.name in seen:
            errors.add(ConfigError(f"data_configs[{i}].name", f"duplicate data config name {data.name!r}"))
        seen.add(data.name)


def _passes(loaded, plugins, systems, host, fmt, vctx, errors) -> list[PlannedPass]:
    planned = []
    current = fmt
    for key, entry in loaded.config.passes.items():
        item = _plan_pass(key, entry, plugins, systems, host, current, vctx, errors)
        if item is None:
            current = None
            continue
        planned.append(item)
        current = item.output_format
    return planned


def _plan_pass(key: str, entry: PassEntry, plugins, systems, host, current, vctx, errors) -> PlannedPass | None:
    path = f"passes.{key}"
    type_name = _type_name(plugins.passes, entry.type)
    registered = errors.run(plugins.passes.entry, type_name, f"{path}.type")
    if registered is None:
        return None
    cls = registered.cls
    raw, space = _search_space(entry, cls, path, errors)
    if raw is None:
        return None
    config = errors.run(cls.parse_config, raw, path)
    if config is None:
        return None
    instance = cls(config)
    pass_host = host
    if entry.host:
        pass_host = _pick_system(entry.host, f"{path}.host", systems, errors)
    errors.run(instance.validate, ValidationContext(**{**vctx.__dict__, "path": path}))
    if current is not None and current not in cls.accepts:
        hint = _chain_hint(current, cls.accepts, plugins.passes)
        errors.add(ConfigError(f"{path}.type", f"{type_name} accepts {', '.join(cls.accepts)} models, "
                               f"but the model reaching it is {current}", hint))
        return None
    out = instance.output_format(current) if current else cls.produces
    return PlannedPass(key, type_name, instance, raw, registered.version,
                       registered.distribution, pass_host, current or "", out, search_space=space,
                       accelerator=vctx.accelerator)


def _type_name(registry, name: str) -> str:
    """The registered name ``name`` means: Olive matches type names case-insensitively (``qlora``)."""
    if name in registry:
        return name
    matches = [known for known in registry.names() if known.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else name


def _search_space(entry: PassEntry, cls, path: str, errors: _Collector) -> tuple[dict[str, Any] | None, dict]:
    """The pass config at its first candidate, and its search space (empty without a search strategy)."""
    raw = entry.pass_config()
    try:
        if strategy_of(errors.loaded.config.engine) is None or entry.disable_search:
            reject_marked(raw, path)
            return raw, {}
        return split_space(cls.Config, raw, path)
    except ConfigError as exc:
        errors.add(exc)
        return None, {}


def _chain_hint(current: str, accepts: tuple[str, ...], passes) -> str | None:
    """Name the installed passes that turn ``current`` into a format the pass accepts (a merge of an adapter)."""
    # A converter: takes the current format, gives an accepted one, and takes no accepted format itself.
    bridges = [name for name in passes.names() if current in passes.get(name).accepts
               and passes.get(name).produces in accepts and not set(passes.get(name).accepts) & set(accepts)]
    if not bridges:
        return None
    return f"add a {bridges[0]} pass before it" if len(bridges) == 1 else \
        f"add one of these passes before it: {', '.join(bridges)}"


def _metrics(loaded, planned: dict[str, list[PlannedMetric]], errors) -> tuple[str | None, list[PlannedMetric]]:
    name = loaded.config.engine.evaluator
    evaluator = _named_evaluator(loaded, name, "engine.evaluator", errors)
    return name, planned[name] if evaluator else []


def _named_evaluator(loaded, name: str | None, path: str, errors: _Collector) -> EvaluatorConfig | None:
    evaluators = loaded.config.evaluators
    if name is None:
        return None
    if name not in evaluators:
        errors.add(ConfigError(path, f"no evaluator named {name!r}", did_you_mean(name, evaluators)
                               or f"evaluators defined: {', '.join(evaluators) or 'none'}"))
        return None
    return evaluators[name]


def _pass_metrics(loaded, planned: dict[str, list[PlannedMetric]], passes: list[PlannedPass], errors) -> None:
    """A pass entry's own ``evaluator`` evaluates that pass's output (per-stage reports)."""
    for item in passes:
        name = loaded.config.passes[item.key].evaluator
        evaluator = _named_evaluator(loaded, name, f"passes.{item.key}.evaluator", errors)
        if evaluator is not None:
            item.metrics = planned[name]


def _planned_metrics(name: str, evaluator: EvaluatorConfig, plugins, vctx, errors) -> list[PlannedMetric]:
    planned = []
    for i, metric in enumerate(evaluator.metrics):
        path = f"evaluators.{name}.metrics[{i}]"
        registered = errors.run(plugins.evaluators.entry, _type_name(plugins.evaluators, metric.type), f"{path}.type")
        if registered is None:
            continue
        if isinstance(metric.data_config, str) and metric.data_config not in vctx.data_config_names:
            errors.add(ConfigError(f"{path}.data_config", f"no data config named {metric.data_config!r}",
                                   did_you_mean(metric.data_config, vctx.data_config_names)))
        cls = registered.cls
        for j, sub in enumerate(metric.sub_types):
            if cls.sub_types and sub.name not in cls.sub_types:
                errors.add(ConfigError(f"{path}.sub_types[{j}].name", f"unknown {metric.type} sub type "
                                       f"{sub.name!r}", did_you_mean(sub.name, cls.sub_types)
                                       or f"known: {', '.join(cls.sub_types)}"))
        for err in goal_errors(metric, path):
            errors.add(err)
        config = errors.run(cls.parse_config, metric.user_config, f"{path}.user_config")
        if config is None:
            continue
        instance = cls(config)
        mctx = ValidationContext(**{**vctx.__dict__, "path": path})
        errors.run(instance.validate, mctx)
        errors.run(instance.validate_metric, metric, mctx)
        planned.append(PlannedMetric(metric, instance, registered.version, path))
    return planned

