"""``olivine config validate|migrate|schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("config")
def config_group() -> None:
    """Validate, migrate and describe workflow configs."""


@config_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help='Print {"valid", "errors": [{"path", "message"}], "notes"} instead of text.')
def validate_cmd(file: Path, as_json: bool) -> None:
    """Check a workflow without running it: every error with its JSON path, and settings with no effect."""
    from olivine.engine import validate
    from olivine.errors import OlivineError

    try:
        plan = validate(file)
    except OlivineError as exc:
        if not as_json:
            raise
        errors = [_error_json(e) for e in getattr(exc, "errors", [exc])]
        click.echo(json.dumps({"file": str(file), "valid": False, "errors": errors,
                               "notes": []}, indent=2))
        sys.exit(exc.exit_code)
    notes = validation_notes(plan)
    if as_json:
        click.echo(json.dumps({"file": str(file), "valid": True, "errors": [], "notes": notes}, indent=2))
        return
    chain = " -> ".join([plan.input_format, *(f"{p.key}:{p.type} -> {p.output_format}" for p in plan.passes)])
    click.echo(f"{file}: valid ({len(plan.passes)} passes: {chain})")
    for note in notes:
        click.echo(f"  {note['kind']}: {note['path']}: {note['message']}" if note["path"]
                   else f"  {note['kind']}: {note['message']}")


def validation_notes(plan) -> list[dict[str, str]]:
    """What changed on reading (old names) and what is accepted but has no effect, each with its JSON path.

    A pass reports its own through an optional ``config_notes()`` returning ``(path under the pass, message)``.
    """
    notes = [{"kind": "migrated", "path": "", "message": note} for note in plan.workflow.migration.notes]
    for item in plan.passes:
        report = getattr(item.instance, "config_notes", None)
        for sub_path, message in (report() if callable(report) else []):
            path = plan.workflow.user_path(f"passes.{item.key}" + (f".{sub_path}" if sub_path else ""))
            notes.append({"kind": "note", "path": path, "message": message})
    return notes


def _error_json(error) -> dict[str, str]:
    if not hasattr(error, "path"):
        return {"path": "", "message": str(error)}
    message = error.message + (f" ({error.hint})" if error.hint else "")
    return {"path": error.path, "message": message}


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
