"""``olivine run`` and ``olivine run-pass``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from olivine.cli.verbosity import verbosity_options

# Olive's ``olive run`` options olivine has no use for, each with what to do instead.
OLIVE_REFUSED = {
    "setup": "olivine installs nothing at run time; `olivine doctor` names what is missing and the pip command",
    "packages": "`olivine doctor` lists what each installed plugin needs and what is missing",
    "package_config": "passes come from installed plugins (`olivine passes`); write a plugin, see docs/plugins.md",
    "data_root": "relative paths in a workflow are relative to the workflow file; write the paths from there",
}


class Refused(click.ClickException):
    exit_code = 2  # a usage error, without the usage text: the one line says what to do instead

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _refused(name: str):
    flag = "--" + name.replace("_", "-")
    flags = [flag, "--" + name] if "_" in name else [flag]

    def callback(ctx: click.Context, param: click.Parameter, value) -> None:
        if value:
            raise Refused(f"{param.opts[0]} (Olive's) is not supported: {OLIVE_REFUSED[name]}")

    is_flag = name in ("setup", "packages")
    return click.option(*flags, name, is_flag=is_flag, hidden=True, expose_value=False, callback=callback,
                        default=None)


@click.command("run")
@click.argument("config_arg", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option("--config", "--run-config", "config_file", type=click.Path(path_type=Path),
              help="Workflow config (JSON or YAML, Olive's old or current schema); or give it as the argument.")
@click.option("--output-dir", "--output-path", "--output_path", "output_dir", type=click.Path(path_type=Path),
              help="Overrides engine.output_dir (Olive: --output_path).")
@click.option("--tempdir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for temporary files (sets TMPDIR for this run and the processes it starts).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--dry-run", is_flag=True,
              help="Run nothing: systems that submit jobs (AzureML) write each job and its upload list instead.")
@verbosity_options
@_refused("setup")
@_refused("packages")
@_refused("package_config")
@_refused("data_root")
def run_cmd(config_arg: Path | None, config_file: Path | None, output_dir: Path | None, tempdir: Path | None,
            debug: bool, no_progress: bool, dry_run: bool) -> None:
    """Run a workflow: passes in order, evaluations, final model and report in the output dir.

    olivine run workflow.json   (or: olivine run --config workflow.json)
    """
    if config_arg and config_file and config_arg != config_file:
        raise click.UsageError("give the workflow once: as the argument or with --config")
    config_file = config_file or config_arg
    if config_file is None:
        raise click.UsageError("which workflow? olivine run workflow.json")
    if debug:
        os.environ["OLIVINE_DEBUG"] = "1"
    if tempdir:
        _use_tempdir(tempdir)
    from olivine.cli.verbosity import quiet_libraries
    from olivine.engine import run
    from olivine.summary import summary_table

    quiet_libraries()
    outcome = run(config_file, output_dir=output_dir, show_progress=not no_progress, dry_run=dry_run)
    if dry_run:
        click.echo(f"dry run: nothing ran or was submitted; jobs described in {outcome.output_dir}")
        return
    # The engine's record is written before the model is published; the summary's footer names the copy.
    record = {**outcome.run, "output_model": outcome.model.to_json() if outcome.model else None}
    click.echo(summary_table(record))
    click.echo(f"report: {outcome.output_dir / 'run.json'}")


def _use_tempdir(folder: Path) -> None:
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(folder.resolve())
    tempfile.tempdir = None  # recomputed from TMPDIR on next use


@click.command("run-pass")
@click.option("--spec", "spec_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="Spec written by an out-of-process system.")
def run_pass_cmd(spec_file: Path) -> None:
    """Run one pass or evaluation from a spec file (what PythonEnvironment and AzureML jobs execute)."""
    from olivine.cli.verbosity import quiet_libraries
    from olivine.runpass import execute

    quiet_libraries()
    sys.exit(execute(spec_file))
