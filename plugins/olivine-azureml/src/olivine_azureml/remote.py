"""Inputs an AzureML job reads where they are: registry and workspace models, datastore paths.

The engine asks the system (``AzureML.remote_input``) before fetching a resource; what is described
here is never downloaded to this machine nor uploaded again: the job gets it as an input
(``azureml://registries/...``, ``azureml:NAME:VERSION``, ``azureml://datastores/...``) and AzureML
mounts it on the node.
"""

from __future__ import annotations

from typing import Any

from olivine_azureml import uri as uris
from olivine_azureml.config import AzureMLClientConfig
from olivine_azureml.workspace import WorkspaceIds

MODEL = "custom_model"  # an MLflow model is read as mlflow_model (the input model's model_file_format says so)


def describe(resource, jobs_workspace: WorkspaceIds | None, ids_of) -> dict[str, Any] | None:
    """``{"uri", "type", "what"}`` for a resource a job in ``jobs_workspace`` can mount; None otherwise.

    ``ids_of(client)``: the workspace ids a resource's ``azureml_client`` names (None: the workflow's top-level one).
    """
    from olivine_azureml.resources import AzureMLDatastore, AzureMLModel, AzureMLRegistryModel

    cfg = resource.config
    if isinstance(resource, AzureMLRegistryModel):  # a registry is readable from any workspace
        return registry_model(cfg.registry_name, cfg.asset_name(), cfg.version)
    if isinstance(resource, AzureMLModel):
        return workspace_model(cfg.asset_name(), cfg.version) if _same(ids_of(cfg.azureml_client),
                                                                        jobs_workspace) else None
    if isinstance(resource, AzureMLDatastore):
        if resource.uri:
            return _from_uri(resource.uri, jobs_workspace)
        if cfg.account_url or cfg.connection_string or not _same(ids_of(cfg.azureml_client), jobs_workspace):
            return None  # a storage account of its own, or another workspace: fetched, then uploaded
        return datastore_path(cfg.datastore_name, cfg.relative_path)
    return None


def registry_model(registry: str, name: str, version: str) -> dict[str, Any]:
    return {"uri": f"azureml://registries/{registry}/models/{name}/versions/{version}", "type": MODEL,
            "what": f"model {name}:{version} of registry {registry}"}


def workspace_model(name: str, version: str) -> dict[str, Any]:
    return {"uri": f"azureml:{name}:{version}", "type": MODEL, "what": f"model {name}:{version} of the workspace"}


def datastore_path(datastore: str, path: str) -> dict[str, Any]:
    """A path ending in '/' or whose last part has no extension is a folder (the job cannot ask which it is)."""
    path = path.lstrip("/")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    folder = path.endswith("/") or "." not in last
    if folder and not path.endswith("/"):
        path += "/"
    return {"uri": f"azureml://datastores/{datastore}/paths/{path}", "type": "uri_folder" if folder else "uri_file",
            "what": f"datastore {datastore}, {path}"}


def _from_uri(value: str, jobs_workspace: WorkspaceIds | None) -> dict[str, Any] | None:
    ref = uris.parse(value, "azureml URI")
    named = (WorkspaceIds(ref.subscription_id, ref.resource_group, ref.workspace_name)
             if ref.subscription_id and ref.resource_group and ref.workspace_name else None)  # all three or none
    if isinstance(ref, uris.ModelVersion) and ref.registry:
        return registry_model(ref.registry, ref.name, ref.version)
    if named is not None and not _same(named, jobs_workspace):  # no workspace named: the job's own
        return None
    if isinstance(ref, uris.DatastorePath):
        return datastore_path(ref.datastore, ref.path)
    return workspace_model(ref.name, ref.version)


def _same(named: WorkspaceIds | None, jobs_workspace: WorkspaceIds | None) -> bool:
    if named is None or jobs_workspace is None:
        return named is None and jobs_workspace is None
    return (named.subscription_id.lower(), named.resource_group.lower(), named.workspace_name.lower()) == (
        jobs_workspace.subscription_id.lower(), jobs_workspace.resource_group.lower(),
        jobs_workspace.workspace_name.lower())


def client_ids(client: AzureMLClientConfig | None, workflow_dir, path: str) -> WorkspaceIds | None:
    from olivine_azureml.workspace import workspace_ids

    return None if client is None else workspace_ids(client, workflow_dir, path)
