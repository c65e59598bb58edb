"""Helpers shared by the tests that read dry-run output."""

from __future__ import annotations

from pathlib import Path


def dry_run(config: Path) -> Path:
    """What ``olivine run --config F --dry-run`` does, in this process (azure-ai-ml imports once per session)."""
    from olivine import run_workflow as run

    return run(config, show_progress=False, dry_run=True).output_dir


def load_and_validate(job_yaml: Path):
    """azure-ai-ml's schema validation (load_job) and entity validation (what create_or_update runs first)."""
    from azure.ai.ml import load_job

    node = load_job(job_yaml)
    job = node._to_job()
    job._validate()
    if not Path(job.code).is_absolute():  # relative to the YAML, as `az ml job create -f` reads it
        job.code = str(Path(node.base_path) / job.code)
    return job
