"""``olivine run --dry-run``: write each job's YAML, code snapshot, upload list and what moves where; submit
nothing, connect to nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml

from olivine_azureml.jobspec import JobDraft
from olivine_azureml.uploads import datastore_uri, movement

log = logging.getLogger("olivine.azureml")


def write_dry_run(draft: JobDraft, build_job, datastore: str, folder: Path, notes: list[str] | None = None) -> Path:
    """``folder/job.yaml`` (loadable by ``az ml job create -f``), ``folder/code/``, ``folder/uploads.json`` (what
    goes up from this machine) and ``folder/moves.json`` (every input and the output: from where, to where)."""
    folder.mkdir(parents=True, exist_ok=True)
    code = draft.write_code(folder / "code")
    job = build_job({u.name: u.default_path() for u in draft.uploads}, code)
    job_yaml = folder / "job.yaml"
    job._to_job().dump(job_yaml)
    data = yaml.safe_load(job_yaml.read_text())
    data["code"] = "./code"  # relative, so the folder can be moved or shared
    job_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    listing = [u.as_json(datastore) for u in draft.local_uploads]
    (folder / "uploads.json").write_text(json.dumps(listing, indent=2))
    moves: dict[str, Any] = {"inputs": [movement(u, datastore) for u in draft.uploads],
             "output": {"to": datastore_uri(datastore, draft.output_path()),
                        "moves": "the job writes it there; the next AzureML job reads it where it is; it is "
                                 "downloaded into the cache (the final model is published from there)"},
             "notes": notes or []}
    checkpoints = draft.checkpoint_path()
    if checkpoints:
        moves["checkpoints"] = {
            "to": datastore_uri(datastore, checkpoints),
            "moves": "the pass's checkpoints, written there while it trains; a resubmitted job of this pass (a "
                     "retry, or the next olivine run) mounts them and resumes from the last intact one; deleted "
                     "once the pass finishes"}
    (folder / "moves.json").write_text(json.dumps(moves, indent=2))
    for item in moves["inputs"]:
        log.info("%s: input %s from %s: %s", draft.label, item["input"], item["from"], item["moves"])
    for note in moves["notes"]:
        log.info("%s: %s", draft.label, note)
    log.info("%s: dry run, job written to %s (%d input(s) to upload first)", draft.label, job_yaml, len(listing))
    return job_yaml
