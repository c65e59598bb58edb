"""From an ``olivine run-pass`` spec to an AzureML command job: inputs, placeholders, code, command.

Local paths in the spec become job inputs (the model, its base model, data files, any other existing
file the pass config names) and are replaced by ``${{inputs.NAME}}`` placeholders; the output folder
becomes ``${{outputs.output}}/out``. A pass's checkpoint folder becomes a second output at a datastore path
keyed by the pass's cache key (``olivine/checkpoints/<key>/``): a resubmitted job of the same pass finds them
there and resumes. ``olivine_job.py`` binds the placeholders inside the job.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine import rebase_spec

from olivine_azureml import job_entry
from olivine_azureml.config import AzureMLConfig
from olivine_azureml.remote import MODEL
from olivine_azureml.uploads import CHECKPOINTS_ROOT, JOBS_ROOT, Upload, datastore_uri

OUT_SUBDIR = "out"
ENTRY_SCRIPT = "olivine_job.py"
OUTPUT_NAME = "output"
CHECKPOINTS_NAME = "checkpoints"  # the output the pass's checkpoints go to
RESUME_NAME = "resume"  # an input: the same path, mounted when an earlier attempt left checkpoints there
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
PATH_KEYS_OF_DATA = ("user_script", "script_dir")


@dataclass
class JobDraft:
    """A job before its inputs are resolved to datastore paths."""

    label: str
    spec: dict[str, Any]
    uploads: list[Upload]
    local_paths: dict[str, str]
    env_vars: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    name: str = ""
    where: str = ""  # how errors name the step: "passes.lora", "metric accuracy"
    checkpoint_key: str | None = None  # the pass's cache key; None for an evaluation
    resume: bool = False  # an earlier attempt left checkpoints: mount them as an input too
    attempt: int = 0  # resubmissions so far (max_retries)
    distributed: bool = False  # one PyTorch-distribution job over several nodes (distribution.shape)

    @property
    def command(self) -> str:
        args = [f"python {ENTRY_SCRIPT} --spec spec.json --output ${{{{outputs.{OUTPUT_NAME}}}}}"]
        args += [f"--input {u.name}={job_entry.input_token(u.name)}" for u in self.uploads]
        # A model mounted from a registry or the workspace: its Hugging Face folder is found inside the job.
        args += [f"--model-input {u.name}" for u in self.uploads if u.remote and u.remote["type"] == MODEL]
        if self.checkpoint_key:
            args.append(f"--checkpoints ${{{{outputs.{CHECKPOINTS_NAME}}}}}")
        if self.checkpoint_key and self.resume:
            args.append(f"--resume-from {job_entry.input_token(RESUME_NAME)}")
        if self.distributed:
            args.append("--distributed")
        return " ".join(args)

    @property
    def local_uploads(self) -> list[Upload]:
        return [u for u in self.uploads if not u.remote]

    def output_path(self) -> str:
        return f"{JOBS_ROOT}/{self.name}/"

    def checkpoint_path(self) -> str | None:
        """The same datastore folder for every attempt at this pass (same input, config and plugin version)."""
        return f"{CHECKPOINTS_ROOT}/{self.checkpoint_key}/" if self.checkpoint_key else None

    def write_code(self, folder: Path) -> Path:
        """The job's code snapshot: the placeholder spec and the entry script."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "spec.json").write_text(json.dumps(self.spec, indent=2))
        shutil.copyfile(job_entry.__file__, folder / ENTRY_SCRIPT)
        return folder


def draft(spec: dict[str, Any], label: str, output_dir: Path, digest, unique: bool = True,
          where: str = "") -> JobDraft:
    """``digest(path)`` gives a content digest; a model path that does not exist is a dry-run placeholder."""
    spec = _absolute_data_paths(_used_data_configs(spec))
    workflow_dir = Path(spec["workflow_dir"])
    uploads = _model_uploads(spec["model"], digest)
    uploads += _remote_data(spec.get("data_configs"))
    roots = [u.local for u in uploads if not u.remote]
    skip = (workflow_dir, Path(output_dir), Path.home())
    named = (("data", spec.get("data_configs")), ("file", [spec.get("config"), spec.get("metric"),
                                                           spec["model"].get("metadata")]))
    for prefix, value in named:
        count = 0
        for path in _existing_paths(value, skip):
            if not any(_is_under(path, root) for root in roots):
                uploads.append(Upload(f"{prefix}_{count}", path, digest(path), path.is_file()))
                roots.append(path)
                count += 1
    local_paths = {job_entry.input_token(u.name): str(u.local) for u in uploads}
    local_paths[f"{job_entry.OUTPUT_TOKEN}/{OUT_SUBDIR}"] = str(output_dir)
    mapping = {local: token for token, local in local_paths.items()} | {str(workflow_dir): job_entry.WORKFLOW_TOKEN}
    mapping |= {u.remote["uri"]: job_entry.input_token(u.name) for u in uploads
                if u.remote and u.remote["type"].startswith("uri_")}
    if spec.get("checkpoint_dir"):
        mapping[spec["checkpoint_dir"]] = job_entry.CHECKPOINT_TOKEN
    tokenized = rebase_spec(spec, dict(sorted(mapping.items(), key=lambda item: -len(item[0]))))
    key = Path(spec["checkpoint_dir"]).name if spec.get("checkpoint_dir") else None
    result = JobDraft(label, tokenized, uploads, local_paths, where=where or label,
                      checkpoint_key=key if key and _SAFE_KEY.match(key) else None)
    result.name = job_name(label, tokenized, uploads, unique)
    return result


def job_name(label: str, spec: dict[str, Any], uploads: list[Upload], unique: bool) -> str:
    """Deterministic for a dry run (same workflow, same YAML); unique per submission otherwise."""
    content = json.dumps({"spec": spec, "inputs": [u.digest for u in uploads]}, sort_keys=True)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40] or "job"
    name = f"olivine-{slug}-{hashlib.sha256(content.encode()).hexdigest()[:10]}"
    return f"{name}-{uuid.uuid4().hex[:6]}" if unique else name


def command_job(draft_: JobDraft, config: AzureMLConfig, environment, input_paths: dict[str, str], code: Path):
    """The azure-ai-ml command job (a ``Command`` builder, what ``MLClient.jobs.create_or_update`` takes)."""
    from azure.ai.ml import Input, Output, command

    store = config.datastores
    inputs = {u.name: Input(type=u.kind, mode="ro_mount",
                            path=u.remote["uri"] if u.remote else datastore_uri(store, input_paths[u.name]))
              for u in draft_.uploads}
    outputs = {OUTPUT_NAME: Output(type="uri_folder", path=datastore_uri(store, draft_.output_path()),
                                   mode="rw_mount")}
    checkpoints = draft_.checkpoint_path()
    tags = {**config.tags, **draft_.tags}
    extra: dict[str, Any] = {}
    if checkpoints:
        outputs[CHECKPOINTS_NAME] = Output(type="uri_folder", path=datastore_uri(store, checkpoints), mode="rw_mount")
        if draft_.resume:
            inputs[RESUME_NAME] = Input(type="uri_folder", mode="ro_mount", path=datastore_uri(store, checkpoints))
        tags.update({"olivine.checkpoints": checkpoints, "olivine.attempt": str(draft_.attempt),
                     "olivine.max_retries": str(config.max_retries)})
    res = config.resources
    if draft_.distributed:
        from olivine_azureml.distribution import JOB_DISTRIBUTION

        extra["distribution"] = dict(JOB_DISTRIBUTION)
    return command(
        name=draft_.name, display_name=f"olivine {draft_.label}", experiment_name=config.experiment_name,
        command=draft_.command, code=str(code), environment=environment,
        environment_variables={**config.environment_variables, **draft_.env_vars}, compute=config.aml_compute,
        inputs=inputs, outputs=outputs, tags=tags,
        instance_count=(res.instance_count if res and res.instance_count else config.instance_count),
        instance_type=res.instance_type if res else None, shm_size=res.shm_size if res else None,
        docker_args=res.docker_args if res else None, **extra,
    )


def _model_uploads(model: dict[str, Any], digest) -> list[Upload]:
    uploads = []
    metadata = model.get("metadata", {})
    dry_placeholder = bool(metadata.get("dry_run"))
    for name, key, remote in (("model", "path", "remote"), ("base_model", "base_model", "remote_base")):
        if not model.get(key):
            continue
        local = Path(model[key])
        if metadata.get(remote):
            uploads.append(Upload(name, local, None, False, remote=metadata[remote]))
        elif local.exists():
            uploads.append(Upload(name, local, digest(local), local.is_file()))
        elif dry_placeholder:
            producer = model.get("metadata", {}).get("pass_key") or "an earlier pass"
            uploads.append(Upload(name, local, None, False, note=f"output of {producer}, not produced in a dry run"))
        else:
            raise FileNotFoundError(f"model {key} {local} does not exist")
    return uploads


def _remote_data(data_configs: list[dict[str, Any]] | None) -> list[Upload]:
    """Data files the engine left where they are (``azureml://datastores/...``): inputs, not uploads."""
    from olivine_azureml.remote import datastore_path
    from olivine_azureml.uri import DatastorePath, parse

    found: list[Upload] = []
    for value in sorted(set(_strings(data_configs))):
        if value.startswith("azureml://"):
            ref = parse(value, "data_files")
            if isinstance(ref, DatastorePath):
                remote = {**datastore_path(ref.datastore, ref.path), "uri": value}
                found.append(Upload(f"data_r{len(found)}", Path(ref.path), None, remote["type"] == "uri_file",
                                    remote=remote))
    return found


def _used_data_configs(spec: dict[str, Any]) -> dict[str, Any]:
    """Only the data configs the pass config or metric names go with the job (and get uploaded)."""
    names = set(_strings([spec.get("config"), spec.get("metric")]))
    return {**spec, "data_configs": [d for d in spec.get("data_configs", []) if d.get("name") in names]}


def _absolute_data_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """Relative ``user_script``/``script_dir`` of data configs are relative to the workflow: make them absolute."""
    workflow_dir = Path(spec["workflow_dir"])
    configs = []
    for data in spec.get("data_configs", []):
        data = dict(data)
        for key in PATH_KEYS_OF_DATA:
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                data[key] = str((workflow_dir / data[key]).resolve())
        configs.append(data)
    return {**spec, "data_configs": configs}


def _existing_paths(value: Any, skip: tuple[Path, ...]) -> list[Path]:
    """Existing absolute paths named anywhere in ``value`` (never a folder holding the workflow or the cache)."""
    found: set[Path] = set()
    for item in _strings(value):
        if "\n" not in item and os.path.isabs(item):
            path = Path(item)
            if path.exists() and path != Path(path.anchor) and not any(_is_under(s, path) for s in skip):
                found.add(path)
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def _strings(value: Any):
    """Every string anywhere in a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from _strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child)


def _is_under(path: Path, root: Path) -> bool:
    path, root = Path(path), Path(root)
    return path == root or root in path.parents
