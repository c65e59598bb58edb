"""The AzureML workspace (or registry) a workflow talks to: credential, MLClient, datastore containers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine import ConfigError, resolve_path

from olivine_azureml.blobs import BlobLocation, account_url
from olivine_azureml.config import AzureMLClientConfig
from olivine_azureml.credentials import credential
from olivine_azureml.retry import with_retries


@dataclass(frozen=True)
class WorkspaceIds:
    subscription_id: str
    resource_group: str
    workspace_name: str


def workspace_ids(config: AzureMLClientConfig, workflow_dir: Path, path: str) -> WorkspaceIds:
    """The three ids, from the config or from the portal's ``config.json`` (no network)."""
    ids: dict[str, Any] = {"subscription_id": config.subscription_id, "resource_group": config.resource_group,
           "workspace_name": config.workspace_name}
    if config.aml_config_path:
        file = resolve_path(config.aml_config_path, workflow_dir)
        if not file.is_file():
            raise ConfigError(f"{path}.aml_config_path", f"no workspace config file at {file}",
                              "download config.json from the workspace's overview page in Azure ML studio")
        try:
            data = json.loads(file.read_text())
        except ValueError as exc:
            raise ConfigError(f"{path}.aml_config_path", f"{file} is not JSON: {exc}") from None
        for key in ids:
            ids[key] = ids[key] or data.get(key) or data.get(key.replace("_group", "_group_name"))
    missing = [key for key, value in ids.items() if not value]
    if missing:
        raise ConfigError(f"{path}.{missing[0]}", f"missing {', '.join(missing)} of the AzureML workspace",
                          "set subscription_id, resource_group and workspace_name, or aml_config_path")
    return WorkspaceIds(**ids)


def make_ml_client(config: AzureMLClientConfig, ids: WorkspaceIds | None, registry_name: str | None = None):
    """The azure-ai-ml MLClient of a workspace, or of a registry when ``registry_name`` is given."""
    from azure.ai.ml import MLClient

    kwargs: dict[str, Any] = {}
    if config.read_timeout:
        kwargs["read_timeout"] = config.read_timeout
    if registry_name:
        return MLClient(credential(config), registry_name=registry_name, **kwargs)
    assert ids is not None, "a workspace client needs the workspace's ids"
    return MLClient(credential(config), ids.subscription_id, ids.resource_group, ids.workspace_name, **kwargs)


@dataclass
class Workspace:
    """One connected workspace: its MLClient and the blob containers of its datastores."""

    config: AzureMLClientConfig
    ml_client: Any
    name: str = ""
    _containers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def connect(cls, config: AzureMLClientConfig, workflow_dir: Path, path: str = "azureml_client") -> Workspace:
        ids = workspace_ids(config, workflow_dir, path)
        return cls(config, make_ml_client(config, ids), ids.workspace_name)

    def key_vault_name(self) -> str:
        """The workspace's own Key Vault (Olive's default for hf_token), asked of the workspace itself."""
        found = self.retry(lambda: self.ml_client.workspaces.get(self.name), f"workspace {self.name}")
        vault = (getattr(found, "key_vault", None) or "").rstrip("/")
        if not vault:
            raise ConfigError("azureml_client.keyvault_name", f"workspace {self.name} reports no Key Vault",
                              "name the Key Vault holding the Hugging Face token")
        return vault.rsplit("/", 1)[-1]  # an ARM id: /subscriptions/.../providers/Microsoft.KeyVault/vaults/NAME

    def retry(self, call, what: str):
        return with_retries(call, what, self.config.max_operation_retries, self.config.operation_retry_interval)

    def container(self, datastore_name: str):
        """The ContainerClient behind a blob datastore (account key, SAS, or this identity)."""
        if datastore_name not in self._containers:
            store = self.retry(lambda: self.ml_client.datastores.get(datastore_name, include_secrets=True),
                               f"datastore {datastore_name}")
            self._containers[datastore_name] = datastore_location(store, self.config).container_client()
        return self._containers[datastore_name]


def datastore_location(store, config: AzureMLClientConfig) -> BlobLocation:
    container = getattr(store, "container_name", None)
    if not container:
        raise ConfigError("", f"datastore {store.name} is a {getattr(store, 'type', 'non-blob')} datastore; "
                              "olivine reads and writes blob datastores only")
    creds = getattr(store, "credentials", None)
    key, sas = getattr(creds, "account_key", None), getattr(creds, "sas_token", None)
    url = account_url(store.account_name, getattr(store, "protocol", None) or "https",
                      getattr(store, "endpoint", None) or "core.windows.net")
    if key:
        secret: Any = {"account_name": store.account_name, "account_key": key}
    else:
        secret = sas or credential(config)  # identity-based datastore: the user's own identity
    return BlobLocation(container, account_url=url, credential=secret)
