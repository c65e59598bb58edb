"""Loading plugins: built-ins plus the ``olivine`` entry-point group, each failure isolated."""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from olivine import hookspecs
from olivine.doctor_checks import DoctorCheck
from olivine.errors import PluginLoadError
from olivine.evaluators import Evaluator
from olivine.passes import Pass
from olivine.registry import Registry
from olivine.resources import Resource
from olivine.runtimes import ModelRuntime
from olivine.systems import System

ENTRY_POINT_GROUP = "olivine"
BUILTIN_MODULES = ("olivine.builtin.hooks",)
HOOK_KINDS = {
    "register_passes": "passes",
    "register_systems": "systems",
    "register_evaluators": "evaluators",
    "register_resources": "resources",
    "register_runtimes": "runtimes",
    "register_doctor_checks": "doctor_checks",
}
log = logging.getLogger("olivine.plugins")


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin as ``olivine plugins`` shows it."""

    name: str
    distribution: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "module": self.module, "hooks": self.hooks, "error": self.error}


class Plugins:
    """The plugin manager and the registries it filled."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("olivine")
        self.pm.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        failed = lambda: [f"{i.name} ({i.distribution})" for i in self.failures()]  # noqa: E731
        self.passes: Registry[Pass] = Registry("pass", Pass, failed)
        self.systems: Registry[System] = Registry("system", System, failed)
        self.evaluators: Registry[Evaluator] = Registry("evaluator", Evaluator, failed)
        self.resources: Registry[Resource] = Registry("resource", Resource, failed)
        self.runtimes: Registry[ModelRuntime] = Registry("runtime", ModelRuntime, failed)
        self.doctor_checks: Registry[DoctorCheck] = Registry("doctor check", DoctorCheck, failed)

    def registry(self, kind: str) -> Registry:
        return getattr(self, kind)

    def claimed_sections(self) -> dict[str, Any]:
        """Top-level workflow sections that registered classes read (``config_sections``): name -> model or None."""
        claimed: dict[str, Any] = {}
        for kind in ("passes", "systems", "evaluators", "resources"):
            registry = self.registry(kind)
            for name in registry.names():
                claimed.update(registry.get(name).config_sections)
        return claimed

    def failures(self) -> list[PluginInfo]:
        return [info for info in self.infos if info.error]

    def conflicts(self) -> list[str]:
        """Duplicate names across all registries (each makes its registry unusable until resolved)."""
        return [c for kind in HOOK_KINDS.values() for c in self.registry(kind).conflicts]

    def call_register_commands(self, cli: Any) -> None:
        """Let each plugin add CLI commands; a failing plugin is recorded, not fatal."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            info = self._info_for(impl.plugin_name)
            try:
                impl.function(**_kwargs(impl, {"cli": cli}))
            except Exception as exc:  # noqa: BLE001 - isolate third-party failures
                self._record_failure(info, f"register_commands failed: {exc!r}")

    def _info_for(self, plugin_name: str) -> PluginInfo:
        return next(info for info in self.infos if info.name == plugin_name)

    def _record_failure(self, info: PluginInfo, message: str) -> None:
        info.error = message
        if strict_plugins():  # the CLI prints the error itself: one line, not a warning too
            raise PluginLoadError(f"plugin {info.name} ({info.distribution}) failed: {message}")
        log.warning("plugin %s (%s) failed: %s", info.name, info.distribution, message)


def strict_plugins() -> bool:
    return os.environ.get("OLIVINE_STRICT_PLUGINS", "").lower() in ("1", "true", "yes")


def selected_plugins() -> set[str] | None:
    value = os.environ.get("OLIVINE_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _extra_module_names() -> list[str]:
    """OLIVINE_PLUGIN_MODULES=pkg.hooks,other.hooks registers hooks modules without installing them
    (plugin development and tests), like pytest's ``-p``."""
    value = os.environ.get("OLIVINE_PLUGIN_MODULES", "")
    return [name.strip() for name in value.split(",") if name.strip()]


_loaded: Plugins | None = None


def get_plugins(reload: bool = False) -> Plugins:
    """The process-wide plugin set, loaded on first use (never at import of the CLI)."""
    global _loaded
    if _loaded is None or reload:
        _loaded = load_plugins()
    return _loaded


def load_plugins() -> Plugins:
    global _dist_map
    _dist_map = None  # distributions installed since the last load must be found too
    plugins = Plugins()
    from olivine import __version__

    for module_name in BUILTIN_MODULES:
        module = importlib.import_module(module_name)
        _register_module(plugins, module, PluginInfo("builtin", "olivine", __version__, module_name))
    for module_name in _extra_module_names():
        info = PluginInfo(module_name, "local", "0", module_name)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - same isolation as installed plugins
            plugins.infos.append(info)
            plugins._record_failure(info, f"{type(exc).__name__}: {exc}")
            continue
        _register_module(plugins, module, info)
    for ep, module, error in _entry_point_modules():
        dist, version = _distribution_of(ep)
        info = PluginInfo(ep.name, dist, version, ep.value)
        if error is not None:
            plugins.infos.append(info)
            plugins._record_failure(info, f"{type(error).__name__}: {error}")
            continue
        _register_module(plugins, module, info)
    _fill_registries(plugins)
    return plugins


def _entry_point_modules():
    """Yield (entry point, module or None, error or None) for the selected entry points."""
    from stevedore import ExtensionManager, NamedExtensionManager

    # stevedore memoizes a namespace for the whole process; a reload must see packages added since.
    ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
    failures: list[tuple[Any, Exception]] = []
    options = {"namespace": ENTRY_POINT_GROUP, "invoke_on_load": False,
               "on_load_failure_callback": lambda _mgr, ep, err: failures.append((ep, err))}
    wanted = selected_plugins()
    if wanted is not None:
        wanted = with_required_plugins(wanted)
    # With a selection, the other plugins are not even imported: a broken or slow one cannot interfere.
    manager = ExtensionManager(**options) if wanted is None else NamedExtensionManager(names=sorted(wanted),
                                                                                        **options)
    for ext in manager.extensions:
        yield ext.entry_point, ext.plugin, None
    for ep, err in failures:
        log.debug("plugin %s failed to import", ep.name, exc_info=err)
        yield ep, None, err


def with_required_plugins(names: set[str]) -> set[str]:
    """``names`` plus the plugins their distributions require (olivine-modelbuilder needs olivine-runtimes'
    runtimes): a selection names what the user wants, not what that needs to work."""
    eps = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    by_distribution: dict[str, list[str]] = {}
    for ep in eps:
        dist = getattr(ep, "dist", None)
        if dist is not None:
            by_distribution.setdefault(_normalized(dist.metadata["Name"]), []).append(ep.name)
    found, todo = set(names), [ep for ep in eps if ep.name in names]
    while todo:
        ep = todo.pop()
        for required in _required_names(getattr(ep, "dist", None)):
            for name in by_distribution.get(required, []):
                if name not in found:
                    found.add(name)
                    todo.extend(e for e in eps if e.name == name)
    return found


def _required_names(dist: Any) -> list[str]:
    """Normalized names of what ``dist`` requires unconditionally (extras and other platforms left out)."""
    if dist is None:
        return []
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return []
    names = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(_normalized(requirement.name))
    return names


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _distribution_of(ep: Any) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        dist = _distributions_by_entry_point().get((ep.name, ep.value))
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"], dist.version


_dist_map: dict[tuple[str, str], Any] | None = None


def _distributions_by_entry_point() -> dict[tuple[str, str], Any]:
    global _dist_map
    if _dist_map is None:
        _dist_map = {(ep.name, ep.value): ep.dist
                     for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return _dist_map


def _register_module(plugins: Plugins, module: ModuleType, info: PluginInfo) -> None:
    if plugins.pm.is_registered(module):
        # The same hooks module reached twice (OLIVINE_PLUGIN_MODULES naming an installed plugin's
        # module, or two entry points): it is loaded once, under its first name.
        log.debug("plugin %s: %s is already registered", info.name, info.module)
        return
    plugins.infos.append(info)
    try:
        plugins.pm.register(module, name=info.name)
        plugins.pm.check_pending()
    except Exception as exc:  # noqa: BLE001 - a misspelled hook fails only this plugin
        if plugins.pm.is_registered(module):
            plugins.pm.unregister(module)
        plugins._record_failure(info, f"invalid hooks: {exc}")
        return
    info.hooks = sorted(caller.name for caller in plugins.pm.get_hookcallers(module) or [])


def _fill_registries(plugins: Plugins) -> None:
    for hook_name, kind in HOOK_KINDS.items():
        registry = plugins.registry(kind)
        for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
            info = plugins._info_for(impl.plugin_name)
            if info.error:
                continue

            def register(cls, _info=info, _registry=registry):
                _registry.add(cls, _info.name, _info.distribution, _info.version)

            try:
                impl.function(**_kwargs(impl, {"register": register}))
            except PluginLoadError:
                raise
            except Exception as exc:  # noqa: BLE001 - isolate third-party failures
                plugins._record_failure(info, f"{hook_name} failed: {exc!r}")


def _kwargs(impl: Any, available: dict[str, Any]) -> dict[str, Any]:
    return {name: available[name] for name in impl.argnames if name in available}
