"""Downloading AzureML resources into the cache: datastore paths and (MLflow) models."""

from __future__ import annotations

import logging
from pathlib import Path

from olivine import ConfigError, ResourceContext, mlflow_hf_folder

from olivine_azureml import blobs
from olivine_azureml.config import AzureMLClientConfig
from olivine_azureml.resources import ResourceFetchError
from olivine_azureml.retry import with_retries
from olivine_azureml.workspace import Workspace, credential, make_ml_client

log = logging.getLogger("olivine.azureml")


def datastore_path(client: AzureMLClientConfig, datastore: str, relative_path: str, ctx: ResourceContext) -> Path:
    workspace = Workspace.connect(client, ctx.workflow_dir)
    container = workspace.container(datastore)
    label = f"azureml://datastores/{datastore}/paths/{relative_path}"
    return workspace.retry(lambda: _download(container, relative_path, Path(ctx.download_dir), label), label)


def direct_path(cfg, ctx: ResourceContext) -> Path:
    """The storage account named in the resource itself (a SAS URL, a connection string, or this identity)."""
    if not cfg.container_name:
        raise ConfigError("container_name", "account_url/connection_string need container_name too")
    if cfg.connection_string:
        location = blobs.BlobLocation(cfg.container_name, connection_string=cfg.connection_string)
    else:
        secret = None if "?" in cfg.account_url else credential(cfg.azureml_client or AzureMLClientConfig())
        location = blobs.BlobLocation(cfg.container_name, account_url=cfg.account_url, credential=secret)
    label = f"container {cfg.container_name}, path {cfg.relative_path}"
    client = cfg.azureml_client or AzureMLClientConfig()
    return with_retries(lambda: _download(location.container_client(), cfg.relative_path, Path(ctx.download_dir),
                                          label), label, client.max_operation_retries, client.operation_retry_interval)


def workspace_model(client: AzureMLClientConfig, name: str, version: str, ctx: ResourceContext) -> Path:
    workspace = Workspace.connect(client, ctx.workflow_dir)
    return _download_model(workspace.retry, workspace.ml_client, name, version, Path(ctx.download_dir))


def registry_model(client: AzureMLClientConfig, registry: str, name: str, version: str, ctx: ResourceContext) -> Path:
    ml_client = make_ml_client(client, None, registry_name=registry)

    def retry(call, what):
        return with_retries(call, what, client.max_operation_retries, client.operation_retry_interval)

    return _download_model(retry, ml_client, name, version, Path(ctx.download_dir))


def _download(container, relative_path: str, dest: Path, label: str) -> Path:
    """A single blob becomes a file, a prefix a folder; both named after the path's last part."""
    relative = relative_path.strip("/")
    target = dest / Path(relative).name
    if not relative_path.endswith("/") and blobs.blob_exists(container, relative):
        log.info("downloading %s", label)
        return blobs.download_blob(container, relative, target)
    log.info("downloading %s/", label.rstrip("/"))
    if not blobs.download_prefix(container, relative, target):
        raise ResourceFetchError(f"nothing at {label}")
    return target


def _download_model(retry, ml_client, name: str, version: str, dest: Path) -> Path:
    raw = dest / "download"
    log.info("downloading AzureML model %s version %s", name, version)
    retry(lambda: ml_client.models.download(name=name, version=version, download_path=str(raw)),
          f"model {name}:{version}")
    root = raw / name if (raw / name).is_dir() else raw
    return mlflow_hf_folder(root, dest / "hf")
