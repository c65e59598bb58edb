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
    """Check Python, the platform, every plugin's requirements, and what installed plugins check (torch, runtimes)."""
    checks = doctor_checks()
    report = doctor_report()
    click.echo(json.dumps(report, indent=2) if as_json else render(report, checks))
    if report["problems"]:
        sys.exit(1)


def doctor_report(distributions: Iterable[Any] | None = None) -> dict[str, Any]:
    """The whole report as JSON-ready data; ``distributions`` replaces installed packages (tests).

    Core reports Python, the platform and the plugins; each installed plugin's doctor checks
    (``register_doctor_checks``) add a section under their own name.
    """
    from olivine import __version__

    report: dict[str, Any] = {
        "olivine": __version__,
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": {"system": platform_name(), "release": platform.release(), "machine": platform.machine()},
    }
    checks = doctor_checks(distributions)
    for check in checks:
        report[check.name] = check.report()
    report["plugins"] = plugin_info(checks)
    report["problems"] = problems(report, checks)
    return report


def doctor_checks(distributions: Iterable[Any] | None = None) -> list:
    from olivine.plugins import get_plugins

    registry = get_plugins().doctor_checks
    return [registry.get(name)(distributions) for name in registry.names()]


def platform_name() -> str:
    system = platform.system()
    return {"Darwin": "macOS", "": "an unknown OS"}.get(system, system)


def plugin_info(checks: list | None = None) -> list[dict[str, Any]]:
    from olivine.plugins import get_plugins

    rows = []
    for info in get_plugins().infos:
        rows.append({"name": info.name, "distribution": info.distribution, "version": info.version,
                     "error": info.error, "requirements": requirement_checks(info.distribution, checks)})
    return rows


def requirement_checks(distribution: str, checks: list | None = None) -> list[dict[str, Any]]:
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
    checks = doctor_checks() if checks is None else checks
    parsed = [Requirement(text) for text in requires]
    found_checks = [_requirement_check(req, checks) for req in parsed
                    if req.marker is None or req.marker.evaluate({"extra": ""})]
    extras = found.metadata.get_all("Provides-Extra") or []
    return found_checks + [row for check in checks
                           for row in check.extra_requirement_checks(distribution, parsed, extras)]


def _requirement_check(req: Any, checks: list | None = None) -> dict[str, Any]:
    name, installed = _installed_as(req.name, doctor_checks() if checks is None else checks)
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
    return _modules_by_distribution().get(_normalize(distribution), [])


@functools.cache
def _modules_by_distribution() -> dict[str, list[str]]:
    """Normalized distribution name -> its public top-level modules (reading every file list is slow: once)."""
    modules: dict[str, list[str]] = {}
    for module, dists in sorted(importlib.metadata.packages_distributions().items()):
        if module.startswith("_") or not module.isidentifier():
            continue
        for dist in dists:
            modules.setdefault(_normalize(dist), []).append(module)
    return modules


def _installed_as(name: str, checks: list) -> tuple[str, str | None]:
    """``name``'s version, or what a doctor check says stands in for it (another flavour of the same
    import package: a plugin asking for onnxruntime-genai runs on onnxruntime-genai-directml too)."""
    version = _version(name)
    if version is not None:
        return name, version
    for check in checks:
        found = check.installed_as(name)
        if found is not None:
            return found
    return name, None


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def problems(report: dict[str, Any], checks: list) -> list[str]:
    found = [problem for check in checks for problem in check.problems(report[check.name])]
    for plugin in report["plugins"]:
        if plugin["error"]:
            found.append(f"plugin {plugin['name']} ({plugin['distribution']}) failed to load: {plugin['error']}")
        for check in plugin["requirements"]:
            if check["ok"] is False:
                found.append(f"plugin {plugin['name']} ({plugin['distribution']}): {check['problem']}")
    return list(dict.fromkeys(found))


def render(report: dict[str, Any], checks: list) -> str:
    lines = [f"olivine      {report['olivine']}",
             f"python       {report['python']['version']} ({report['python']['executable']})",
             f"platform     {report['platform']['system']} {report['platform']['release']} "
             f"{report['platform']['machine']}"]
    for check in checks:
        lines.extend(check.render(report[check.name]))
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


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
