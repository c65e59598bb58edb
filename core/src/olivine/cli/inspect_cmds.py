"""``olivine passes|systems|evaluators|resources|plugins``: what is installed, without heavy imports."""

from __future__ import annotations

import json
from typing import Any

import click


def _registry_rows(kind: str) -> list[dict]:
    from olivine.plugins import get_plugins

    registry = get_plugins().registry(kind)
    rows = []
    for name in registry:
        entry = registry.entry(name)
        row = {"name": name, "description": entry.cls.description(), "plugin": entry.plugin,
               "distribution": entry.distribution, "version": entry.version}
        if kind == "evaluators":
            row["accepts"] = evaluated_formats(entry.cls)
        elif hasattr(entry.cls, "accepts") and kind != "systems":
            row["accepts"] = list(entry.cls.accepts)
        if hasattr(entry.cls, "produces") and kind == "passes":
            row["produces"] = entry.cls.produces
        rows.append(row)
    return rows


def _print_rows(rows: list[dict], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("(none installed)")
        return
    for line in table([[c.upper() for c in columns], *([_cell(r.get(c)) for c in columns] for r in rows)]):
        click.echo(line)


def table(rows: list[list[str]]) -> list[str]:
    """Columns aligned to their widest cell; the last column is left to wrap as the terminal does."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
            for row in rows]


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(value)
    return "" if value is None else str(value)


@click.group("passes", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def passes_group(ctx: click.Context, as_json: bool) -> None:
    """List installed passes."""
    if ctx.invoked_subcommand is None:
        _print_rows(_registry_rows("passes"), as_json, ("name", "accepts", "produces", "distribution", "description"))


@passes_group.command("show")
@click.argument("name")
def passes_show(name: str) -> None:
    """Describe one pass: formats and config as JSON Schema."""
    _show("passes", "pass", name)


def _show(kind: str, singular: str, name: str) -> None:
    from olivine.plugins import get_plugins

    entry = get_plugins().registry(kind).entry(name, singular)
    cls = entry.cls
    shown: dict[str, Any] = {"name": name, "description": (cls.__doc__ or "").strip(),
                             "distribution": entry.distribution, "version": entry.version}
    if kind == "passes":
        shown.update({"accepts": list(cls.accepts), "produces": cls.produces})
    elif kind == "evaluators":
        shown["accepts"] = evaluated_formats(cls)
    elif hasattr(cls, "accepts"):
        shown["accepts"] = list(cls.accepts)
    shown["config_schema"] = cls.config_schema()
    click.echo(json.dumps(shown, indent=2))


def _listing(kind: str, singular: str, help_text: str, columns: tuple[str, ...]):
    @click.group(kind, invoke_without_command=True, help=help_text)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    def group(ctx: click.Context, as_json: bool) -> None:
        if ctx.invoked_subcommand is None:
            _print_rows(_registry_rows(kind), as_json, columns)

    @group.command("show", help=f"Describe one {singular}: its config as JSON Schema.")
    @click.argument("name")
    def show(name: str) -> None:
        _show(kind, singular, name)

    return group


systems_cmd = _listing("systems", "system", "List installed systems; `systems show NAME` describes one.",
                       ("name", "distribution", "description"))
evaluators_cmd = _listing("evaluators", "evaluator", "List installed evaluators (metric types); `evaluators show "
                          "NAME` describes one.", ("name", "accepts", "distribution", "description"))
resources_cmd = _listing("resources", "resource", "List installed resource types; `resources show NAME` describes "
                         "one.", ("name", "distribution", "description"))


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List loaded plugins: distribution, version, hooks and any load error."""
    from olivine.plugins import get_plugins

    plugins = get_plugins()
    infos = [info.as_json() for info in plugins.infos]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
    else:
        rows = [["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"]]
        rows += [[info["name"], info["distribution"], info["version"],
                  f"FAILED: {info['error']}" if info["error"] else ", ".join(info["hooks"])] for info in infos]
        for line in table(rows):
            click.echo(line)
    for conflict in plugins.conflicts():
        click.echo(f"conflict: {conflict}", err=True)


def evaluated_formats(evaluator: Any) -> list[str]:
    """The formats a metric type evaluates here: its own list, or those installed runtimes load."""
    from olivine.plugins import get_plugins

    known = dict.fromkeys([*evaluator.accepts, *get_plugins().runtimes.names()])
    return [fmt for fmt in known if evaluator.accepts_format(fmt)]
