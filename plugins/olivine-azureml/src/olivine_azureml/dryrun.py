"""``olivine run --dry-run``: write each job's YAML, code snapshot and upload list; submit nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml

from olivine_azureml.jobspec import JobDraft

log = logging.getLogger("olivine.azureml")


def write_dry_run(draft: JobDraft, build_job, datastore: str, folder: Path) -> Path:
    """``folder/job.yaml`` (loadable by ``az ml job create -f``), ``folder/code/``, ``folder/uploads.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    code = draft.write_code(folder / "code")
    job = build_job({u.name: u.default_path() for u in draft.uploads}, code)
    job_yaml = folder / "job.yaml"
    job._to_job().dump(job_yaml)
    data = yaml.safe_load(job_yaml.read_text())
    data["code"] = "./code"  # relative, so the folder can be moved or shared
    job_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    listing = [u.as_json(datastore) for u in draft.uploads]
    (folder / "uploads.json").write_text(json.dumps(listing, indent=2))
    log.info("%s: dry run, job written to %s (%d input(s) to upload first)", draft.label, job_yaml, len(listing))
    return job_yaml
