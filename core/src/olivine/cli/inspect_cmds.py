"""``olivine passes|systems|evaluators|resources|plugins``: what is installed, without heavy imports."""

from __future__ import annotations

import json

import click


def _registry_rows(kind: str) -> list[dict]:
    from olivine.plugins import get_plugins

    registry = get_plugins().registry(kind)
    rows = []
    for name in registry:
        entry = registry.entry(name)
        row = {"name": name, "description": entry.cls.description(), "plugin": entry.plugin,
               "distribution": entry.distribution, "version": entry.version}
        if hasattr(entry.cls, "accepts") and kind != "systems":
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
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns[:-1]}
    for row in rows:
        head = "  ".join(_cell(row.get(c)).ljust(widths[c]) for c in columns[:-1])
        click.echo(f"{head}  {_cell(row.get(columns[-1]))}")


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
    from olivine.plugins import get_plugins

    entry = get_plugins().passes.entry(name, "pass")
    cls = entry.cls
    click.echo(json.dumps({
        "name": name, "description": (cls.__doc__ or "").strip(), "distribution": entry.distribution,
        "version": entry.version, "accepts": list(cls.accepts), "produces": cls.produces,
        "config_schema": cls.config_schema(),
    }, indent=2))


def _simple_list(kind: str, help_text: str):
    @click.command(kind, help=help_text)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def command(as_json: bool) -> None:
        _print_rows(_registry_rows(kind), as_json, ("name", "distribution", "description"))

    return command


systems_cmd = _simple_list("systems", "List installed systems.")
evaluators_cmd = _simple_list("evaluators", "List installed evaluators (metric types).")
resources_cmd = _simple_list("resources", "List installed resource types.")


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
        for info in infos:
            status = f"FAILED: {info['error']}" if info["error"] else ", ".join(info["hooks"])
            click.echo(f"{info['name']}  {info['distribution']} {info['version']}  {status}")
    for conflict in plugins.conflicts():
        click.echo(f"conflict: {conflict}", err=True)
