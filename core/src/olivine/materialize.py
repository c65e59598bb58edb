"""Before passes run: fetch resources to local paths and compute content keys of the data.

A resource whose every consumer (the systems of the passes and metrics that read it) can read it
where it is (``System.remote_input``: an AzureML job mounts a registry model or a datastore path)
is not fetched: the model or data config carries its remote description instead. A dry run fetches
nothing: it describes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olivine import mlflow_layout
from olivine.cache import Cache, digest
from olivine.config.schema import DataConfig
from olivine.data.hub import pin_revision
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
                          sections=plan.workflow.config.sections())
    local = resource.fetch(ctx)
    record.write_text(json.dumps({"path": str(local), "resource": resource.identity()}))
    return local


def remote(value: Any, plugins: Plugins, consumers: list, path: str, dry_run: bool = False) -> dict | None:
    """How ``value`` (a resource reference) is read where it is, when every consumer can; None: fetch it.

    A dry run never fetches: a resource no consumer reads in place is described as fetched at run time.
    """
    resource = resource_from(value, plugins, path)
    described = [system.remote_input(resource) for system in consumers]
    if consumers and all(described):
        return {**described[0], "identity": resource.identity()}
    if dry_run:
        return {"uri": resource.uri or resource.identity(), "identity": resource.identity(),
                "note": "fetched to this machine at run time"}
    return None


def input_model(plan: Plan, plugins: Plugins, cache: Cache, dry_run: bool = False) -> ModelRef:
    cfg = plan.workflow.config.input_model
    path = plan.input_path
    if path is None and not cfg.adapter_path:
        where = remote(cfg.model_path, plugins, _model_consumers(plan), "input_model.model_path", dry_run)
        if where is not None:
            return _remote_model(plan, cache, where)
    if path is None:
        path = fetch(cfg.model_path, plugins, cache, plan, "input_model.model_path")
    if mlflow_layout.mlflow_root(path) is not None and not (path / "config.json").is_file():
        # The Hugging Face parts of an MLflow model, gathered once per source folder.
        gathered = cache.root / "resources" / f"mlflow-{digest(str(path.resolve()))}"
        path = gathered if (gathered / "config.json").is_file() else mlflow_layout.hf_folder(path, gathered)
    return model_ref_for(cfg, path, plan.workflow.workflow_dir)


def _model_consumers(plan: Plan) -> list:
    # Every pass's system: an adapter carries its base model along to later passes (a merge).
    consumers = [item.host for item in plan.passes]
    if plan.metrics and plan.workflow.config.engine.evaluate_input_model:
        consumers.append(plan.target)
    return consumers


def _remote_model(plan: Plan, cache: Cache, where: dict) -> ModelRef:
    """The input model where it is: no local files; keyed by what it points at (a registry model's version)."""
    from olivine.inputs import input_format

    cfg = plan.workflow.config.input_model
    key = digest({"resource": where["identity"]})
    metadata = {"load_kwargs": cfg.load_kwargs, "task": cfg.task, "producer": "input_model", "remote": where,
                "cache_key": key}
    if cfg.model_file_format == "PyTorch.MLflow":
        metadata["remote"] = {**where, "layout": "mlflow"}
    return ModelRef(format=input_format(cfg), path=cache.root / "resources" / f"remote-{key}", metadata=metadata)


def _data_consumers(plan: Plan, name: str) -> list:
    consumers = [item.host for item in plan.passes if _mentions(item.instance.cache_config(), name)]
    metrics = [*plan.metrics, *(m for item in plan.passes for m in item.metrics)]
    if any(m.config.data_config == name for m in metrics):
        consumers.append(plan.target)
    return consumers


def _mentions(value: Any, name: str) -> bool:
    if isinstance(value, str):
        return value == name
    if isinstance(value, dict):
        return any(_mentions(v, name) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, name) for v in value)
    return False


def data_configs(plan: Plan, plugins: Plugins, cache: Cache,
                 dry_run: bool = False) -> tuple[dict[str, DataConfig], dict[str, str]]:
    """Data configs with local ``data_files`` (or the URI of files read where they are), and a key per config."""
    configs: dict[str, DataConfig] = {}
    keys: dict[str, str] = {}
    wdir = plan.workflow.workflow_dir
    for i, data in enumerate(plan.workflow.config.data_configs):
        # A hub dataset's revision is pinned to its commit here: the key covers the data actually read.
        load = pin_revision(dict(data.load_dataset_config), wdir, f"data_configs[{i}].load_dataset_config")
        files_key = None
        if "data_files" in load:
            consumers = _data_consumers(plan, data.name)
            load["data_files"] = _local_files(load["data_files"], plugins, cache, plan,
                                              f"data_configs[{i}].load_dataset_config.data_files", wdir,
                                              consumers, dry_run)
            files_key = _files_key(load["data_files"], cache)
        local = data.model_copy(update={"load_dataset_config": load})
        configs[data.name] = local
        # Files count by content, not by where they are: a moved or copied workflow folder keeps its cache.
        identity = local.model_dump(mode="json", exclude={"name"})
        if files_key is not None:
            identity["load_dataset_config"]["data_files"] = files_key
        keys[data.name] = digest({"config": identity})
    return configs, keys


def _local_files(value: Any, plugins, cache, plan, path: str, wdir: Path, consumers=(), dry_run=False) -> Any:
    if is_resource_ref(value):
        where = remote(value, plugins, list(consumers), path, dry_run)
        # Read where it is: the URI stays (and keys the data, like a hub id), the consumer's system mounts it.
        return where["uri"] if where is not None else str(fetch(value, plugins, cache, plan, path))
    if isinstance(value, str):
        return str(resolve_path(value, wdir).resolve())
    if isinstance(value, list):
        return [_local_files(v, plugins, cache, plan, f"{path}[{i}]", wdir, consumers, dry_run)
                for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _local_files(v, plugins, cache, plan, f"{path}.{k}", wdir, consumers, dry_run)
                for k, v in value.items()}
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
