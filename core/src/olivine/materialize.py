"""Before passes run: fetch resources to local paths and compute content keys of the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olivine import mlflow_layout
from olivine.cache import Cache, digest
from olivine.config.schema import DataConfig
from olivine.inputs import is_resource_ref, model_ref_for
from olivine.models import ModelRef
from olivine.paths import is_pattern, matching_files, resolve_path
from olivine.plan import Plan
from olivine.plugins import Plugins
from olivine.resource_refs import resource_from
from olivine.resources import ResourceContext


def fetch(value: Any, plugins: Plugins, cache: Cache, plan: Plan, path: str) -> Path:
    """Download a resource once; later runs reuse the local copy recorded beside it."""
    resource = resource_from(value, plugins, path)
    target = cache.root / "resources" / digest(resource.identity())
    record = target.with_suffix(".json")
    if record.is_file():
        local = Path(json.loads(record.read_text())["path"])
        if local.exists():
            return local
    ctx = ResourceContext(download_dir=target, workflow_dir=plan.workflow.workflow_dir,
                          azureml_client=plan.workflow.config.azureml_client)
    local = resource.fetch(ctx)
    record.write_text(json.dumps({"path": str(local), "resource": resource.identity()}))
    return local


def input_model(plan: Plan, plugins: Plugins, cache: Cache) -> ModelRef:
    cfg = plan.workflow.config.input_model
    path = plan.input_path
    if path is None:
        path = fetch(cfg.model_path, plugins, cache, plan, "input_model.model_path")
    if mlflow_layout.mlflow_root(path) is not None and not (path / "config.json").is_file():
        # The Hugging Face parts of an MLflow model, gathered once per source folder.
        gathered = cache.root / "resources" / f"mlflow-{digest(str(path.resolve()))}"
        path = gathered if (gathered / "config.json").is_file() else mlflow_layout.hf_folder(path, gathered)
    return model_ref_for(cfg, path, plan.workflow.workflow_dir)


def data_configs(plan: Plan, plugins: Plugins, cache: Cache) -> tuple[dict[str, DataConfig], dict[str, str]]:
    """Data configs with local ``data_files``, and a content key per data config."""
    configs: dict[str, DataConfig] = {}
    keys: dict[str, str] = {}
    wdir = plan.workflow.workflow_dir
    for i, data in enumerate(plan.workflow.config.data_configs):
        load = dict(data.load_dataset_config)
        files_key = None
        if "data_files" in load:
            load["data_files"] = _local_files(load["data_files"], plugins, cache, plan,
                                              f"data_configs[{i}].load_dataset_config.data_files", wdir)
            files_key = _files_key(load["data_files"], cache)
        local = data.model_copy(update={"load_dataset_config": load})
        configs[data.name] = local
        # Files count by content, not by where they are: a moved or copied workflow folder keeps its cache.
        identity = local.model_dump(mode="json", exclude={"name"})
        if files_key is not None:
            identity["load_dataset_config"]["data_files"] = files_key
        keys[data.name] = digest({"config": identity})
    return configs, keys


def _local_files(value: Any, plugins, cache, plan, path: str, wdir: Path) -> Any:
    if is_resource_ref(value):
        return str(fetch(value, plugins, cache, plan, path))
    if isinstance(value, str):
        return str(resolve_path(value, wdir).resolve())
    if isinstance(value, list):
        return [_local_files(v, plugins, cache, plan, f"{path}[{i}]", wdir) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _local_files(v, plugins, cache, plan, f"{path}.{k}", wdir) for k, v in value.items()}
    return value


def _files_key(value: Any, cache: Cache) -> Any:
    if isinstance(value, str):
        path = Path(value)
        if path.exists():
            return cache.file_key(path)
        if is_pattern(value):
            return [cache.file_key(f) for f in matching_files(value)]
        return value
    if isinstance(value, list):
        return [_files_key(v, cache) for v in value]
    if isinstance(value, dict):
        return {k: _files_key(v, cache) for k, v in value.items()}
    return value
