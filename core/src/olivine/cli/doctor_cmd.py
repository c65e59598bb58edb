"""``olivine doctor``: what this environment can run, and what is broken in it with the fix."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import sys
from collections.abc import Iterable
from typing import Any

import click


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doctor_command(as_json: bool) -> None:
    """Check Python, torch, onnxruntime flavours and providers, and every plugin's requirements."""
    report = doctor_report()
    click.echo(json.dumps(report, indent=2) if as_json else render(report))
    if report["problems"]:
        sys.exit(1)


def doctor_report(distributions: Iterable[Any] | None = None) -> dict[str, Any]:
    """The whole report as JSON-ready data; ``distributions`` replaces installed packages (tests)."""
    from olivine import __version__, providers

    items = providers.installed(distributions)
    report = {
        "olivine": __version__,
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": {"system": providers.platform_name(), "release": platform.release(),
                     "machine": platform.machine()},
        "torch": torch_info(),
        "bitsandbytes": {"version": _version("bitsandbytes")},
        "runtimes": runtime_info(items),
        "conflicts": [c.as_json() for c in providers.conflicts(items)],
        "plugins": plugin_info(),
    }
    report["problems"] = problems(report)
    return report


def torch_info() -> dict[str, Any]:
    version = _version("torch")
    if version is None:
        return {"version": None}
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken torch is part of the report
        return {"version": version, "error": f"{type(exc).__name__}: {exc}"}
    cuda = torch.cuda.is_available()
    return {"version": version, "cuda_build": torch.version.cuda, "cuda_available": cuda,
            "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []}


def runtime_info(items: list) -> list[dict[str, Any]]:
    """Each installed onnxruntime / onnxruntime-genai flavour with what its import package reports."""
    from olivine import providers

    rows = []
    for namespace in (providers.ORT, providers.GENAI):
        flavours = providers.in_namespace(items, namespace)
        if not flavours:
            continue
        error = providers.import_error(namespace)
        available = None if error else providers.available_providers(namespace)
        for item in flavours:
            rows.append({**item.as_json(), "available_providers": available, "import_error": error})
    return rows


def plugin_info() -> list[dict[str, Any]]:
    from olivine.plugins import get_plugins

    rows = []
    for info in get_plugins().infos:
        rows.append({"name": info.name, "distribution": info.distribution, "version": info.version,
                     "error": info.error, "requirements": requirement_checks(info.distribution)})
    return rows


def requirement_checks(distribution: str) -> list[dict[str, Any]]:
    """Each declared requirement of ``distribution`` (this environment's markers) and whether it is met."""
    try:
        found = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return []
    requires = found.requires or []
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return [{"requirement": text, "installed": None, "ok": None, "problem": "not checked (no packaging)"}
                for text in requires]
    parsed = [Requirement(text) for text in requires]
    checks = [_requirement_check(req) for req in parsed
              if req.marker is None or req.marker.evaluate({"extra": ""})]
    extras = found.metadata.get_all("Provides-Extra") or []
    return checks + _runtime_extra_checks(distribution, parsed, extras)


def _runtime_extra_checks(distribution: str, requires: list, extras: list[str]) -> list[dict[str, Any]]:
    """A plugin that leaves the onnxruntime(-genai) flavour to its extras (olivine-modelbuilder[cpu],
    [cuda], [directml]) needs one of those flavours installed, or its passes stop at validation."""
    from olivine import providers

    by_namespace: dict[str, list[str]] = {}
    for req in requires:
        flavour = providers.FLAVOUR_BY_NAME.get(providers.normalize(req.name))
        if flavour is None or req.marker is None or req.marker.evaluate({"extra": ""}):
            continue
        for extra in extras:  # only extras with a wheel for this platform (directml: Windows)
            if req.marker.evaluate({"extra": extra}) and extra not in by_namespace.get(flavour.namespace, []):
                by_namespace.setdefault(flavour.namespace, []).append(extra)
    checks = []
    installed = providers.installed()
    for namespace, names in by_namespace.items():
        if providers.in_namespace(installed, namespace):
            continue
        label = providers.RUNTIME_LABELS[namespace]
        others = " or ".join(f"[{name}]" for name in names[1:])
        checks.append({"requirement": f"{label} from one of the extras {', '.join(names)}", "installed": None,
                       "ok": False, "problem": f"no {label} flavour is installed: pip install "
                                               f"'{distribution}[{names[0]}]'" + (f" (or {others})" if others else "")})
    return checks


def _requirement_check(req: Any) -> dict[str, Any]:
    name, installed = _installed_as(req.name)
    problem = None
    if installed is None:
        problem = f"{req.name} is not installed"
    elif req.specifier and not req.specifier.contains(installed, prereleases=True):
        problem = f"{name} {installed} is installed, {req} is required"
    else:
        problem = _import_problem(name)
    check = {"requirement": str(req), "installed": installed, "ok": problem is None, "problem": problem}
    if name != req.name:
        check["provided_by"] = name
    return check


def _import_problem(distribution: str) -> str | None:
    """Installed is not enough: a broken build or a missing system library shows only on import."""
    import importlib.util
    import logging

    for module in _top_level_modules(distribution):
        # What a library logs while importing (bitsandbytes: an optional CPU kernel package is
        # missing) is not doctor's finding; a failed import is.
        logging.disable(logging.WARNING)
        try:
            if importlib.util.find_spec(module) is None:
                continue  # a name in the distribution's file list that is no module (data, scripts)
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any failure to import is the finding
            return f"{distribution} is installed but `import {module}` fails: {type(exc).__name__}: {exc}"
        finally:
            logging.disable(logging.NOTSET)
    return None


def _top_level_modules(distribution: str) -> list[str]:
    from olivine import providers

    return _modules_by_distribution().get(providers.normalize(distribution), [])


@functools.cache
def _modules_by_distribution() -> dict[str, list[str]]:
    """Normalized distribution name -> its public top-level modules (reading every file list is slow: once)."""
    from olivine import providers

    modules: dict[str, list[str]] = {}
    for module, dists in sorted(importlib.metadata.packages_distributions().items()):
        if module.startswith("_") or not module.isidentifier():
            continue
        for dist in dists:
            modules.setdefault(providers.normalize(dist), []).append(module)
    return modules


def _installed_as(name: str) -> tuple[str, str | None]:
    """``name``'s version, or for the plain (CPU) flavour another flavour's of the same import
    package: a plugin asking for onnxruntime-genai runs on onnxruntime-genai-directml too."""
    from olivine import providers

    version = _version(name)
    flavour = providers.FLAVOUR_BY_NAME.get(providers.normalize(name))
    if version is not None or flavour is None or flavour.label != "CPU":
        return name, version
    for item in providers.in_namespace(providers.installed(), flavour.namespace):
        return item.name, item.version
    return name, None


def problems(report: dict[str, Any]) -> list[str]:
    found = [f"{c['message']}; fix: {c['fix']}" for c in report["conflicts"]]
    for row in report["runtimes"]:
        if row["import_error"]:
            found.append(f"{row['distribution']} is installed but does not import: {row['import_error']}")
    if report["torch"].get("error"):
        found.append(f"torch does not import: {report['torch']['error']}")
    for plugin in report["plugins"]:
        if plugin["error"]:
            found.append(f"plugin {plugin['name']} ({plugin['distribution']}) failed to load: {plugin['error']}")
        for check in plugin["requirements"]:
            if check["ok"] is False:
                found.append(f"plugin {plugin['name']} ({plugin['distribution']}): {check['problem']}")
    return list(dict.fromkeys(found))


def render(report: dict[str, Any]) -> str:
    lines = [f"olivine      {report['olivine']}",
             f"python       {report['python']['version']} ({report['python']['executable']})",
             f"platform     {report['platform']['system']} {report['platform']['release']} "
             f"{report['platform']['machine']}",
             f"torch        {_torch_line(report['torch'])}",
             f"bitsandbytes {report['bitsandbytes']['version'] or 'not installed'}",
             "runtimes"]
    for row in report["runtimes"] or [{"distribution": "onnxruntime", "version": None}]:
        lines.append(f"  {_runtime_line(row)}")
    lines.append("plugins")
    names = max((len(plugin["name"]) for plugin in report["plugins"]), default=0)
    labels = [f"{plugin['name'].ljust(names)}  {plugin['distribution']} {plugin['version']}"
              for plugin in report["plugins"]]
    width = max(map(len, labels), default=0)
    for label, plugin in zip(labels, report["plugins"], strict=True):
        bad = [c["problem"] for c in plugin["requirements"] if c["ok"] is False]
        status = f"FAILED: {plugin['error']}" if plugin["error"] else ("; ".join(bad) if bad else "ok")
        lines.append(f"  {label.ljust(width)}  {status}")
    if report["problems"]:
        lines.append("problems")
        lines.extend(f"  - {problem}" for problem in report["problems"])
    else:
        lines.append("no problems found")
    return "\n".join(lines)


def _torch_line(info: dict[str, Any]) -> str:
    if info["version"] is None:
        return "not installed"
    if info.get("error"):
        return f"{info['version']}  does not import: {info['error']}"
    if info["cuda_available"]:
        return f"{info['version']}  CUDA {info['cuda_build']}: {', '.join(info['devices'])}"
    build = f"CUDA {info['cuda_build']} build, no GPU visible" if info["cuda_build"] else "CPU-only build"
    return f"{info['version']}  CUDA: not available ({build})"


def _runtime_line(row: dict[str, Any]) -> str:
    if row.get("version") is None:
        return "onnxruntime  not installed"
    head = f"{row['distribution']} {row['version']} ({row['flavour']})"
    if row["import_error"]:
        return f"{head}  does not import: {row['import_error']}"
    return f"{head}  providers: {', '.join(row['available_providers'] or []) or 'none'}"


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
