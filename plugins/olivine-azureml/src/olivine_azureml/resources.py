"""Resources: ``azureml_datastore`` (and ``azureml://`` URIs), ``azureml_model``, ``azureml_registry_model``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from olivine import ConfigError, OlivineError, Resource, ResourceContext, StrictConfig
from pydantic import Field, field_validator

from olivine_azureml.config import DEFAULT_DATASTORE, AzureMLClientConfig, parse_client

log = logging.getLogger("olivine.azureml")


class DatastoreConfig(StrictConfig):
    """A path in a workspace datastore; ``account_url``/``connection_string`` skip the workspace lookup."""

    azureml_client: AzureMLClientConfig | None = Field(
        default=None, description="the workspace (default: the workflow's top-level azureml_client)")
    datastore_name: str = Field(default=DEFAULT_DATASTORE, description="datastore of the workspace")
    relative_path: str = Field(description="path in the datastore: a blob becomes a file, a prefix a folder")
    account_url: str | None = Field(
        default=None, repr=False, description="storage account URL (a SAS URL, or read with your identity), "
                                              "instead of the workspace lookup; needs container_name")
    container_name: str | None = Field(
        default=None, description="blob container, with account_url or connection_string")
    connection_string: str | None = Field(
        default=None, repr=False, description="storage account connection string, instead of the workspace lookup; "
                                              "needs container_name")


class ModelConfig(StrictConfig):
    """A model registered in the workspace: ``name`` and ``version``."""

    azureml_client: AzureMLClientConfig | None = Field(
        default=None, description="the workspace (default: the workflow's top-level azureml_client)")
    name: str = Field(description="model name")
    version: str = Field(description="model version (a number is accepted)")

    @field_validator("version", mode="before")
    @classmethod
    def _number_is_fine(cls, value):
        return str(value) if isinstance(value, int) else value

    def asset_name(self) -> str:
        """AzureML asset names cannot hold '/': the cookbook's ``microsoft/Phi-3-mini-4k-instruct`` (a
        Hugging Face id) is ``Phi-3-mini-4k-instruct`` in the azureml-msr registry."""
        return self.name.rsplit("/", 1)[-1]

    def lookup_name(self) -> str:
        """The asset name to download, said in the log when it differs from what the config wrote."""
        asset = self.asset_name()
        if asset != self.name:
            log.info("AzureML model %r: asset names cannot contain '/', looking up %r", self.name, asset)
        return asset


class RegistryModelConfig(ModelConfig):
    """A model of an AzureML registry (``azureml``, ``azureml-msr``, your own): name, registry, version."""

    registry_name: str = Field(description="the registry, e.g. azureml or azureml-msr")


class AzureMLDatastore(Resource[DatastoreConfig]):
    """A file or folder in an AzureML datastore (also any azureml:// URI: datastore path or model)."""

    name = "azureml_datastore"
    config_sections = {"azureml_client": AzureMLClientConfig}
    schemes = ("azureml",)
    Config = DatastoreConfig

    def __init__(self, config: DatastoreConfig | None = None, uri: str | None = None):
        if config is None and uri is not None:  # the URI says everything; the config stays unused
            config = DatastoreConfig.model_construct(relative_path="")
        super().__init__(config, uri)

    def identity(self) -> str:
        if self.uri:
            return self.uri
        cfg = self.config
        return json.dumps({"datastore": cfg.datastore_name, "path": cfg.relative_path,
                           "account": _without_query(cfg.account_url),
                           "container": cfg.container_name,
                           "workspace": _workspace_key(cfg.azureml_client)}, sort_keys=True)

    def fetch(self, ctx: ResourceContext) -> Path:
        from olivine_azureml import fetching, uri

        if self.uri:
            ref = uri.parse(self.uri, "azureml URI")
            if isinstance(ref, uri.DatastorePath):
                return fetching.datastore_path(_uri_client(ref, ctx), ref.datastore, ref.path, ctx)
            if ref.registry:
                return fetching.registry_model(_client(None, ctx, required=False), ref.registry, ref.name,
                                               ref.version, ctx)
            return fetching.workspace_model(_uri_client(ref, ctx), ref.name, ref.version, ctx)
        cfg = self.config
        if cfg.connection_string or cfg.account_url:
            return fetching.direct_path(cfg, ctx)
        return fetching.datastore_path(_client(cfg.azureml_client, ctx), cfg.datastore_name, cfg.relative_path, ctx)


class AzureMLModel(Resource[ModelConfig]):
    """A model registered in an AzureML workspace, downloaded once (MLflow models unpacked to Hugging Face)."""

    name = "azureml_model"
    config_sections = {"azureml_client": AzureMLClientConfig}
    Config = ModelConfig

    def identity(self) -> str:
        return json.dumps({"model": self.config.asset_name(), "version": self.config.version,
                           "workspace": _workspace_key(self.config.azureml_client)}, sort_keys=True)

    def fetch(self, ctx: ResourceContext) -> Path:
        from olivine_azureml import fetching

        return fetching.workspace_model(_client(self.config.azureml_client, ctx), self.config.lookup_name(),
                                        self.config.version, ctx)


class AzureMLRegistryModel(Resource[RegistryModelConfig]):
    """A model of an AzureML registry such as azureml-msr, downloaded once (MLflow unpacked to Hugging Face)."""

    name = "azureml_registry_model"
    config_sections = {"azureml_client": AzureMLClientConfig}
    Config = RegistryModelConfig

    def identity(self) -> str:
        return json.dumps({"registry": self.config.registry_name, "model": self.config.asset_name(),
                           "version": self.config.version}, sort_keys=True)

    def fetch(self, ctx: ResourceContext) -> Path:
        from olivine_azureml import fetching

        client = _client(self.config.azureml_client, ctx, required=False)
        return fetching.registry_model(client, self.config.registry_name, self.config.lookup_name(),
                                       self.config.version, ctx)


def _client(own: AzureMLClientConfig | None, ctx: ResourceContext, required: bool = True) -> AzureMLClientConfig:
    if own is not None:
        return own
    if ctx.section("azureml_client") is not None:
        return parse_client(ctx.section("azureml_client"), "azureml_client")
    if required:
        raise ConfigError("azureml_client", "an AzureML resource needs the workspace",
                          "add azureml_client (subscription_id, resource_group, workspace_name) to the workflow")
    return AzureMLClientConfig()


def _uri_client(ref, ctx: ResourceContext) -> AzureMLClientConfig:
    """A URI naming its workspace overrides the workflow's ids (the credential settings are kept)."""
    if not ref.subscription_id:
        return _client(None, ctx)
    base = _client(None, ctx, required=False)
    return base.model_copy(update={"subscription_id": ref.subscription_id, "resource_group": ref.resource_group,
                                   "workspace_name": ref.workspace_name, "aml_config_path": None})


def _workspace_key(client: AzureMLClientConfig | None) -> list | None:
    if client is None:
        return None
    return [client.subscription_id, client.resource_group, client.workspace_name, client.aml_config_path]


class ResourceFetchError(OlivineError):
    """An AzureML resource could not be downloaded (nothing at the path, no access)."""


def _without_query(url: str | None) -> str | None:
    """The account, not its SAS token: the identity is written to the cache, and a new token is the same data."""
    if url is None:
        return None
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
