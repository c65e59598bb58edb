"""``olivine run`` and ``olivine run-pass``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("run")
@click.option("--config", "config_file", required=True, type=click.Path(path_type=Path),
              help="Workflow config (JSON or YAML, Olive's old or current schema).")
@click.option("--output-dir", type=click.Path(path_type=Path), help="Overrides engine.output_dir.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--dry-run", is_flag=True,
              help="Run nothing: systems that submit jobs (AzureML) write each job and its upload list instead.")
def run_cmd(config_file: Path, output_dir: Path | None, debug: bool, no_progress: bool, dry_run: bool) -> None:
    """Run a workflow: passes in order, evaluations, final model and report in the output dir."""
    if debug:
        os.environ["OLIVINE_DEBUG"] = "1"
    from olivine.engine import run
    from olivine.summary import summary_table

    outcome = run(config_file, output_dir=output_dir, show_progress=not no_progress, dry_run=dry_run)
    if dry_run:
        click.echo(f"dry run: nothing ran or was submitted; jobs described in {outcome.output_dir}")
        return
    click.echo(summary_table(outcome.run))
    click.echo(f"report: {outcome.output_dir / 'run.json'}")


@click.command("run-pass")
@click.option("--spec", "spec_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="Spec written by an out-of-process system.")
def run_pass_cmd(spec_file: Path) -> None:
    """Run one pass or evaluation from a spec file (what PythonEnvironment and AzureML jobs execute)."""
    from olivine.runpass import execute

    sys.exit(execute(spec_file))
