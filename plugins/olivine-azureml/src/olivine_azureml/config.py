"""Configuration of the AzureML system and of ``azureml_client``, with Olive's field names."""

from __future__ import annotations

from typing import Any

from olivine import StrictConfig, SystemConfig, parse_config
from pydantic import AliasChoices, Field, model_validator

DEFAULT_DATASTORE = "workspaceblobstore"
DEFAULT_HF_TOKEN_SECRET = "hf-token"


class CredentialConfig(StrictConfig):
    """Arguments of azure-identity's ``DefaultAzureCredential`` (Olive's ``default_auth_params``)."""

    exclude_environment_credential: bool | None = Field(
        default=None, description="skip a service principal given by AZURE_* environment variables")
    exclude_managed_identity_credential: bool | None = Field(
        default=None, description="skip the managed identity of an Azure VM or pipeline")
    exclude_shared_token_cache_credential: bool | None = Field(
        default=None, description="skip the shared token cache (Windows, Visual Studio)")
    exclude_visual_studio_code_credential: bool | None = Field(
        default=None, description="skip the Visual Studio Code Azure sign-in")
    exclude_cli_credential: bool | None = Field(default=None, description="skip `az login`")
    exclude_powershell_credential: bool | None = Field(
        default=None, description="skip Azure PowerShell's Connect-AzAccount")
    exclude_developer_cli_credential: bool | None = Field(default=None, description="skip `azd auth login`")
    exclude_workload_identity_credential: bool | None = Field(
        default=None, description="skip workload identity (federated token of a Kubernetes pod)")
    exclude_interactive_browser_credential: bool | None = Field(
        default=None, description="skip the browser sign-in prompt")
    managed_identity_client_id: str | None = Field(
        default=None, description="client id of a user-assigned managed identity")
    workload_identity_client_id: str | None = Field(default=None, description="client id for workload identity")
    additionally_allowed_tenants: list[str] | None = Field(
        default=None, description="tenants besides the credential's own that tokens may be requested for ('*': any)")
    process_timeout: int | None = Field(
        default=None, description="seconds to wait for the az / azd / PowerShell sign-in processes")

    def kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class AzureMLClientConfig(StrictConfig):
    """The workspace: ids, or the ``config.json`` downloaded from the portal (``aml_config_path``)."""

    subscription_id: str | None = Field(default=None, description="subscription of the workspace")
    resource_group: str | None = Field(default=None, description="resource group of the workspace")
    workspace_name: str | None = Field(default=None, description="the workspace")
    aml_config_path: str | None = Field(
        default=None, validation_alias=AliasChoices("aml_config_path", "config_path"),
        description="instead of the three ids: the config.json from the workspace's overview page (relative to "
                    "the workflow file)")
    keyvault_name: str | None = Field(default=None, description="the workspace's Key Vault (needed with hf_token)")
    read_timeout: int | None = Field(default=None, description="HTTP read timeout in seconds (default: azure-ai-ml's)")
    max_operation_retries: int = Field(
        default=3, ge=0, description="retries of a service call that failed for a transient reason (network, 408, "
                                     "429, 5xx)")
    operation_retry_interval: float = Field(
        default=5.0, ge=0, description="seconds before the first retry, doubled each time (at most 120)")
    default_auth_params: CredentialConfig = Field(
        default_factory=CredentialConfig, description="arguments of azure-identity's DefaultAzureCredential")


class DockerConfig(StrictConfig):
    """``aml_docker_config``: a base image plus a conda file, or a Docker build context."""

    base_image: str | None = Field(
        default=None, description="Docker image the environment starts from (with conda_file_path)")
    conda_file_path: str | None = Field(
        default=None, description="conda file; olivine adds its own packages to its pip list (default python=3.11; "
                                  "a pin below 3.10 becomes python=3.11, with a note)")
    build_context_path: str | None = Field(
        default=None, description="instead of base_image: a folder built as the image (install olivine in it)")
    dockerfile: str | None = Field(
        default=None, description="Dockerfile inside build_context_path (default: Dockerfile)")
    name: str | None = Field(default=None, description="name of the AzureML environment created (default: anonymous)")
    version: str | None = Field(default=None, description="its version")

    @model_validator(mode="after")
    def _one_kind(self) -> DockerConfig:
        if not self.base_image and not self.build_context_path:
            raise ValueError("give base_image (with an optional conda_file_path) or build_context_path")
        if self.base_image and self.build_context_path:
            raise ValueError("give base_image or build_context_path, not both")
        return self


class EnvironmentConfig(StrictConfig):
    """``aml_environment_config``: an environment registered in the workspace (olivine installed in it)."""

    name: str = Field(description="name of a registered environment with olivine installed")
    version: str | None = Field(default=None, description="its version (default: 1 unless label is given)")
    label: str | None = Field(default=None, description="its label (e.g. latest), instead of version")


class ResourcesConfig(StrictConfig):
    """``resources``: what each job asks of the compute (azure-ai-ml's JobResourceConfiguration)."""

    instance_count: int | None = Field(
        default=None, ge=1, description="nodes per job (overrides the system's instance_count)")
    instance_type: str | None = Field(
        default=None, description="VM size, e.g. Standard_NC24ads_A100_v4; without aml_compute the job runs on "
                                  "serverless compute")
    shm_size: str | None = Field(
        default=None, description="shared memory of the container, e.g. 16g (PyTorch data loaders want more than the "
                                  "default 2g)")
    docker_args: str | None = Field(default=None, description="extra docker run arguments")


class AzureMLConfig(SystemConfig):
    """The ``AzureML`` system (Olive's AzureML target, old ``config`` wrapper or flat)."""

    aml_compute: str | None = Field(
        default=None, description="compute cluster the jobs run on (or set resources.instance_type for serverless "
                                  "compute)")
    aml_docker_config: DockerConfig | None = Field(
        default=None, description="job environment from a base image plus conda file, or a Docker build context")
    aml_environment_config: EnvironmentConfig | None = Field(
        default=None, description="job environment registered in the workspace, instead of aml_docker_config")
    azureml_client: AzureMLClientConfig | None = Field(
        default=None, validation_alias=AliasChoices("azureml_client", "azureml_client_config"),
        description="the workspace for this system only (default: the workflow's top-level azureml_client)")
    resources: ResourcesConfig | None = Field(default=None, description="what each job asks of the compute")
    instance_count: int = Field(
        default=1, ge=1, description="nodes per job; above 1 a distribution-aware pass (LoRA, QLoRA) trains across "
                                     "them as one PyTorch-distribution job")
    process_count_per_instance: int | None = Field(
        default=None, ge=1, description="processes per node for a distribution-aware pass, one per GPU (default: "
                                        "the pass's distributed.nproc_per_node)")
    tags: dict[str, str] = Field(default_factory=dict, description="tags on every job")
    hf_token: bool = Field(
        default=False, description="give jobs the Hugging Face token, read inside the job from the Key Vault secret "
                                   "hf_token_secret_name")
    hf_token_secret_name: str = Field(default=DEFAULT_HF_TOKEN_SECRET, description="Key Vault secret holding the token")
    datastores: str = Field(default=DEFAULT_DATASTORE, description="datastore for uploads and job outputs")
    experiment_name: str = Field(default="olivine", description="experiment the jobs are filed under")
    olivine_requirements: list[str] | None = Field(
        default=None, description="pip requirements replacing the olivine and plugin packages added to the "
                                  "environment (a fork, a git URL)")
    requirements_file: str | None = Field(
        default=None, description="pip requirements file whose lines are added to the environment")
    max_retries: int = Field(
        default=0, ge=0, le=20,
        description="resubmit a pass job that ended before the pass did (a preempted low-priority node, a lost "
                    "node), up to this many times; it resumes from the pass's last checkpoint")
    environment_variables: dict[str, str] = Field(
        default_factory=dict, description="set in every job and visible in the studio: never a secret")

    @model_validator(mode="after")
    def _one_environment(self) -> AzureMLConfig:
        if self.aml_docker_config and self.aml_environment_config:
            raise ValueError("give aml_docker_config or aml_environment_config, not both")
        return self


def parse_client(raw: dict[str, Any], path: str) -> AzureMLClientConfig:
    """Validate a raw ``azureml_client`` mapping; errors carry ``path`` like every config error."""
    return parse_config(AzureMLClientConfig, raw, path)
