"""Helpers shared by the tests that read dry-run output."""

from __future__ import annotations

import json
import shutil
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


def mount_from_upload_list(uploads_json: Path):
    """Inputs as the job sees them: each upload's local content at its own mount point (a copy, read-only)."""
    by_target = {u["target"]: Path(u["local_path"]) for u in json.loads(uploads_json.read_text())}

    def mount(uri: str, kind: str, folder: Path) -> Path:
        source = by_target[uri]
        if kind == "uri_file":
            folder.mkdir(parents=True)
            return Path(shutil.copy2(source, folder / source.name))
        shutil.copytree(source, folder)
        return folder

    return mount
