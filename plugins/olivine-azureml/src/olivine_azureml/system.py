"""The AzureML system: each pass or evaluation runs as an Azure Machine Learning command job.

This module imports no Azure package at import time; submission code loads them when a job runs.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import olivine
from olivine import (
    ConfigError,
    EvalContext,
    Evaluator,
    ModelRef,
    Pass,
    PassContext,
    System,
    ValidationContext,
    read_content_hashes,
)

from olivine_azureml.config import AzureMLClientConfig, AzureMLConfig, parse_client

if TYPE_CHECKING:
    from olivine_azureml.workspace import Workspace, WorkspaceIds

log = logging.getLogger("olivine.azureml")
SKIPPED_DISTRIBUTIONS = ("olivine", "local", "unknown", "")
HF_TOKEN_PACKAGES = ("azure-identity>=1.15", "azure-keyvault-secrets>=4.7")
WORKSPACE_VAULT = "<the workspace's Key Vault, looked up at submit>"


class AzureML(System[AzureMLConfig]):
    """Run passes and evaluations as Azure Machine Learning command jobs (olivine run-pass in a container)."""

    name = "AzureML"
    # The workspace, at the top of the workflow as in Olive; a system's own azureml_client wins.
    config_sections = {"azureml_client": AzureMLClientConfig}
    Config = AzureMLConfig
    supports_dry_run = True

    def __init__(self, config: AzureMLConfig | None = None, key: str = ""):
        super().__init__(config, key)
        self._client: AzureMLClientConfig | None = self.config.azureml_client
        self._client_path = f"systems.{self.key}.azureml_client"
        self._workspace: Workspace | None = None
        self._memo: dict[str, Any] = {}
        self._ids: WorkspaceIds | None = None  # the jobs' workspace, known after check()
        self._top_client: AzureMLClientConfig | None = None
        self._workflow_dir = Path(".")
        self._remote_paths: dict[str, dict] = {}  # placeholder path of a model read in place -> its description
        self._environment_notes: list[str] = []  # what check() changed in the job's environment, and why

    # validation --------------------------------------------------------------------------------
    def check(self, ctx: ValidationContext) -> None:
        """Everything checkable offline; also takes the workflow's ``azureml_client`` when this has none."""
        from olivine_azureml import environment
        from olivine_azureml.accelerators import check_providers
        from olivine_azureml.workspace import workspace_ids

        path = f"systems.{self.key}"
        if self._client is None and ctx.section("azureml_client") is not None:
            self._client = parse_client(ctx.section("azureml_client"), "azureml_client")
            self._client_path = "azureml_client"
        if self._client is None:
            raise ConfigError("azureml_client", f"system {self.key} (AzureML) needs the workspace",
                              "add azureml_client with subscription_id, resource_group and workspace_name")
        self._ids = workspace_ids(self._client, ctx.workflow_dir, self._client_path)
        self._workflow_dir = ctx.workflow_dir
        if ctx.section("azureml_client") is not None:
            self._top_client = parse_client(ctx.section("azureml_client"), "azureml_client")
        cfg = self.config
        check_providers(cfg.accelerators, path)
        if not cfg.aml_compute and not (cfg.resources and cfg.resources.instance_type):
            raise ConfigError(f"{path}.aml_compute", "no compute for the jobs",
                              "name a compute cluster, or set resources.instance_type for serverless compute")
        if cfg.aml_docker_config is None and cfg.aml_environment_config is None:
            raise ConfigError(f"{path}.aml_docker_config", "the AzureML system needs an environment",
                              "set aml_docker_config (base_image and conda_file_path) or aml_environment_config")
        conda = environment.load_conda(environment.conda_file(cfg, ctx.workflow_dir, path), path)
        self._environment_notes = []
        if cfg.aml_docker_config is not None and cfg.aml_docker_config.base_image:
            _, note = environment.job_python(conda, f"{path}.aml_docker_config.conda_file_path")
            if note:  # the cookbook's python=3.8.13: the job runs, on a Python olivine supports
                log.warning("%s", note)
                self._environment_notes.append(note)
        environment.requirements_file_lines(cfg, ctx.workflow_dir, path)

    def remote_input(self, resource) -> dict[str, Any] | None:
        """Registry models, models and datastore paths of this workspace: job inputs, never fetched here."""
        from olivine_azureml.remote import client_ids, describe

        def ids_of(client: AzureMLClientConfig | None):
            return client_ids(client or self._top_client, self._workflow_dir, "azureml_client")

        try:
            return describe(resource, self._ids, ids_of)
        except ConfigError:  # a resource naming no workspace it can be read in: the fetch says so
            return None

    # outputs left in the datastore ---------------------------------------------------------------
    def keeps_output_remote(self, consumers: list[System]) -> bool:
        """An output read only by later jobs of this system stays in the datastore: they mount it."""
        return bool(consumers) and all(consumer is self for consumer in consumers)

    def remote_output_exists(self, model: ModelRef) -> bool:
        from olivine_azureml import outputs

        return outputs.exists(self._connect(self._workflow_dir), model.metadata["remote"])

    def fetch_output(self, model: ModelRef, dest: Path) -> None:
        from olivine_azureml import outputs

        outputs.download(self._connect(self._workflow_dir), model.metadata["remote"], dest)

    # running -----------------------------------------------------------------------------------
    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        from olivine import pass_spec

        label = _pass_label(pass_, ctx)
        model = self._with_remote_parts(model)
        spec = pass_spec(pass_, model, ctx)
        self._reuse_hashes(ctx.cache_dir)
        # The output's format: a pass writing onnx-genai (ModelBuilder) needs the runtime its plugin leaves to an extra.
        output_format = pass_.output_format(model.format)
        requirements = self._requirements("passes", pass_, output_format, ctx.accelerator.execution_provider)
        from olivine_azureml.distribution import shape

        spec, distributed = shape(spec, self.config, pass_)  # LoRA on several nodes: one PyTorch-distribution job
        result = self._run(spec, label, ctx.output_dir, ctx.workflow_dir, requirements, ctx.dry_run,
                           where=f"passes.{label}", distributed=distributed, keep_remote=ctx.keep_output_remote)
        if result is None:
            return ModelRef(format=output_format, path=ctx.output_dir, metadata={"dry_run": True})
        ctx.report.update(result.get("report", {}))
        for note in self._environment_notes:
            ctx.note(note)
        return self._with_remote_parts(ModelRef.from_json(result["model"]))

    def _with_remote_parts(self, model: ModelRef) -> ModelRef:
        """Remember models read in place; an adapter whose base is one carries the base's description along
        (into the cache too), so a later job (merge) mounts the base where it is."""
        if model.metadata.get("remote"):
            self._remote_paths[str(model.path)] = model.metadata["remote"]
        base = str(model.base_model) if model.base_model else None
        if base in self._remote_paths and "remote_base" not in model.metadata:
            return model.with_metadata(remote_base=self._remote_paths[base])
        if model.metadata.get("remote_base") and base:
            self._remote_paths.setdefault(base, model.metadata["remote_base"])
        return model

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        from olivine import eval_spec

        label = f"evaluate {ctx.metric.name}"
        with tempfile.TemporaryDirectory(prefix="olivine-aml-eval-") as scratch:
            spec = eval_spec(evaluator, model, ctx, Path(scratch))
            requirements = self._requirements("evaluators", evaluator, model.format, ctx.accelerator.execution_provider)
            result = self._run(spec, label, Path(scratch), ctx.workflow_dir, requirements, ctx.dry_run,
                               where=f"metric {ctx.metric.name}")
        if result is None:
            return {}
        ctx.report.update(result.get("report", {}))
        return result["metrics"]

    def _run(self, spec: dict, label: str, output_dir: Path, workflow_dir: Path, requirements: list[str],
             dry_run: Path | None, where: str, distributed: bool = False, keep_remote: bool = False) -> dict | None:
        from olivine_azureml import environment, jobspec
        from olivine_azureml.uploads import digest_of

        if self._client is None:
            raise ConfigError("azureml_client", f"system {self.key} (AzureML) was not validated with a workspace")
        draft = jobspec.draft(spec, label, output_dir, lambda p: digest_of(p, self._memo), unique=dry_run is None,
                              where=where)
        draft.distributed = distributed
        draft.env_vars.update(self._job_env(workflow_dir if dry_run is None else None))
        draft.tags.update({"olivine.version": olivine.__version__, "olivine.step": label})
        env = environment.job_environment(self.config, workflow_dir, requirements, f"systems.{self.key}")

        def build(paths: dict[str, str], code: Path):
            return jobspec.command_job(draft, self.config, env, paths, code)

        if dry_run is not None:
            from olivine_azureml.dryrun import write_dry_run

            write_dry_run(draft, build, self.config.datastores, Path(dry_run), self._dry_run_notes())
            return None
        from olivine_azureml.submit import run_job

        return run_job(self._connect(workflow_dir), draft, build, self.config.datastores, output_dir, self._memo,
                       max_retries=self.config.max_retries, keep_remote=keep_remote)

    def _reuse_hashes(self, cache_dir: Path | None) -> None:
        """File digests the engine already computed (same format, keyed by path, size and mtime): read-only."""
        if cache_dir is not None:
            self._memo.update(read_content_hashes(cache_dir))

    def _job_env(self, workflow_dir: Path | None) -> dict[str, str]:
        """Names only: the token itself is read inside the job, so it never passes through this machine.

        Without ``keyvault_name`` the vault is the workspace's own, asked of the workspace at submit time
        (``workflow_dir``; None in a dry run, which connects to nothing and names the vault by role)."""
        if not self.config.hf_token:
            return {}
        vault = self._checked_client().keyvault_name
        if vault is None:
            if workflow_dir is None:
                vault = WORKSPACE_VAULT
            else:
                vault = self._memo.setdefault("workspace-key-vault", self._connect(workflow_dir).key_vault_name())
        return {"OLIVINE_HF_TOKEN_KEYVAULT": vault, "OLIVINE_HF_TOKEN_SECRET": self.config.hf_token_secret_name}

    def _dry_run_notes(self) -> list[str]:
        if not self.config.hf_token:
            return list(self._environment_notes)
        vault = self._checked_client().keyvault_name
        where = (f"Key Vault {vault}" if vault else
                 "the workspace's own Key Vault, looked up from the workspace when the job is submitted")
        return [*self._environment_notes,
                f"hf_token: the job reads secret '{self.config.hf_token_secret_name}' from {where}"]

    def _requirements(self, kind: str, component: Any, model_format: str, provider: str | None) -> list[str]:
        """What the job's conda environment installs: olivine, the plugin providing this pass/metric, and the
        runtime of the onnx-genai model it reads or writes (``model_format``)."""
        if self.config.olivine_requirements is not None:
            requirements = list(self.config.olivine_requirements)
        else:
            from olivine import get_plugins

            requirements = [f"olivine[hf]=={olivine.__version__}"]
            entry = getattr(get_plugins(), kind).entry(type(component).name or type(component).__name__)
            if entry.distribution not in SKIPPED_DISTRIBUTIONS:
                requirements.append(f"{entry.distribution}=={entry.version}")
        if self.config.hf_token:
            requirements.extend(HF_TOKEN_PACKAGES)
        return requirements + runtime_requirements(model_format, provider, requirements)

    def _checked_client(self) -> AzureMLClientConfig:
        # check() sets the workspace client, or raises ConfigError, before any job is described or submitted.
        assert self._client is not None, "AzureML.check() runs before jobs"
        return self._client

    def _connect(self, workflow_dir: Path) -> Workspace:
        from olivine_azureml.workspace import Workspace

        if self._workspace is None:
            self._workspace = Workspace.connect(self._checked_client(), workflow_dir, self._client_path)
        return self._workspace


def runtime_requirements(fmt: str, provider: str | None, requirements: list[str]) -> list[str]:
    """The onnxruntime-genai flavour a job reading or writing an onnx-genai model needs (olivine[hf] has none,
    olivine-modelbuilder leaves it to an extra), at this machine's version when it has one; nothing when the
    requirements already name one."""
    if fmt != "onnx-genai" or any(r.startswith("onnxruntime-genai") for r in requirements):
        return []
    from olivine_runtimes import providers

    package = "onnxruntime-genai-cuda" if provider == "CUDAExecutionProvider" else "onnxruntime-genai"
    version = providers.installed_version(providers.GENAI)
    return [f"{package}=={version}" if version else package]


def _pass_label(pass_: Pass, ctx: PassContext) -> str:
    """The pass's key in the workflow (``lora``), else its type (a pass run outside a workflow)."""
    return ctx.pass_key or pass_.name
