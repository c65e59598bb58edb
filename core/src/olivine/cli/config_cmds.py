"""``olivine config validate|migrate|schema``."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("config")
def config_group() -> None:
    """Validate, migrate and describe workflow configs."""


@config_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def validate_cmd(file: Path) -> None:
    """Check a workflow without running it: every error with its JSON path."""
    from olivine.engine import validate

    plan = validate(file)
    chain = " -> ".join([plan.input_format, *(f"{p.key}:{p.type} -> {p.output_format}" for p in plan.passes)])
    click.echo(f"{file}: valid ({len(plan.passes)} passes: {chain})")
    for note in plan.workflow.migration.notes:
        click.echo(f"  migrated: {note}")


@config_group.command("migrate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write here instead of stdout.")
def migrate_cmd(file: Path, output: Path | None) -> None:
    """Print a workflow in Olive's current schema (old cookbook configs included)."""
    from olivine.config.loader import load_workflow

    loaded = load_workflow(file)
    text = json.dumps(loaded.config.model_dump(mode="json", exclude_unset=True), indent=4) + "\n"
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    for note in loaded.migration.notes:
        click.echo(f"migrated: {note}", err=True)


@config_group.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of workflow files, with the installed passes and systems."""
    from olivine.config.jsonschema import workflow_schema
    from olivine.plugins import get_plugins

    click.echo(json.dumps(workflow_schema(get_plugins()), indent=2))
