"""Configuration of the AzureML system and of ``azureml_client``, with Olive's field names."""

from __future__ import annotations

from typing import Any

from olivine import StrictConfig
from olivine.systems import SystemConfig
from pydantic import AliasChoices, Field, ValidationError, model_validator

DEFAULT_DATASTORE = "workspaceblobstore"
DEFAULT_HF_TOKEN_SECRET = "hf-token"


class CredentialConfig(StrictConfig):
    """Arguments of azure-identity's ``DefaultAzureCredential`` (Olive's ``default_auth_params``)."""

    exclude_environment_credential: bool | None = None
    exclude_managed_identity_credential: bool | None = None
    exclude_shared_token_cache_credential: bool | None = None
    exclude_visual_studio_code_credential: bool | None = None
    exclude_cli_credential: bool | None = None
    exclude_powershell_credential: bool | None = None
    exclude_developer_cli_credential: bool | None = None
    exclude_workload_identity_credential: bool | None = None
    exclude_interactive_browser_credential: bool | None = None
    managed_identity_client_id: str | None = None
    workload_identity_client_id: str | None = None
    additionally_allowed_tenants: list[str] | None = None
    process_timeout: int | None = None

    def kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class AzureMLClientConfig(StrictConfig):
    """The workspace: ids, or the ``config.json`` downloaded from the portal (``aml_config_path``)."""

    subscription_id: str | None = None
    resource_group: str | None = None
    workspace_name: str | None = None
    aml_config_path: str | None = Field(default=None, validation_alias=AliasChoices("aml_config_path", "config_path"))
    keyvault_name: str | None = None
    read_timeout: int | None = None
    max_operation_retries: int = Field(default=3, ge=0)
    operation_retry_interval: float = Field(default=5.0, ge=0)
    default_auth_params: CredentialConfig = Field(default_factory=CredentialConfig)


class DockerConfig(StrictConfig):
    """``aml_docker_config``: a base image plus a conda file, or a Docker build context."""

    base_image: str | None = None
    conda_file_path: str | None = None
    build_context_path: str | None = None
    dockerfile: str | None = None
    name: str | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DockerConfig:
        if not self.base_image and not self.build_context_path:
            raise ValueError("give base_image (with an optional conda_file_path) or build_context_path")
        if self.base_image and self.build_context_path:
            raise ValueError("give base_image or build_context_path, not both")
        return self


class EnvironmentConfig(StrictConfig):
    """``aml_environment_config``: an environment registered in the workspace (olivine installed in it)."""

    name: str
    version: str | None = None
    label: str | None = None


class ResourcesConfig(StrictConfig):
    """``resources``: what each job asks of the compute (azure-ai-ml's JobResourceConfiguration)."""

    instance_count: int | None = Field(default=None, ge=1)
    instance_type: str | None = None
    shm_size: str | None = None
    docker_args: str | None = None


class AzureMLConfig(SystemConfig):
    """The ``AzureML`` system (Olive's AzureML target, old ``config`` wrapper or flat)."""

    aml_compute: str | None = None
    aml_docker_config: DockerConfig | None = None
    aml_environment_config: EnvironmentConfig | None = None
    azureml_client: AzureMLClientConfig | None = Field(
        default=None, validation_alias=AliasChoices("azureml_client", "azureml_client_config"))
    resources: ResourcesConfig | None = None
    instance_count: int = Field(default=1, ge=1)
    tags: dict[str, str] = Field(default_factory=dict)
    hf_token: bool = False
    hf_token_secret_name: str = DEFAULT_HF_TOKEN_SECRET
    datastores: str = DEFAULT_DATASTORE
    experiment_name: str = "olivine"
    olivine_requirements: list[str] | None = None
    requirements_file: str | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_environment(self) -> AzureMLConfig:
        if self.aml_docker_config and self.aml_environment_config:
            raise ValueError("give aml_docker_config or aml_environment_config, not both")
        return self


def parse_client(raw: dict[str, Any], path: str) -> AzureMLClientConfig:
    """Validate a raw ``azureml_client`` mapping; errors carry ``path`` like every config error."""
    from olivine.config.pydantic_errors import config_errors_from

    try:
        return AzureMLClientConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_errors_from(exc, AzureMLClientConfig, path) from None
