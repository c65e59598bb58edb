"""The Phi-3 cookbook's AzureML workflow, assembled from its own snippets (placeholder ids filled in).

Its registry model and datastore data reach the jobs as job inputs, never through this machine; its
hf_token without a Key Vault name uses the workspace's own; a dry run needs no Azure credentials.
As everywhere here: azure-ai-ml's load_job validates the specs, Azurite is the blob service, jobs run
through the local runner, and only the MLClient and the credential are fakes (no Azure is reachable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aml_runtime import plugin_env
from dry_run_helpers import load_and_validate
from mlflow_layouts import write_mlflow
from olivine_azureml.blobs import upload_tree

IDS = {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "phi3-rg",
       "workspace_name": "phi3-ws"}
REGISTRY_MODEL = "azureml://registries/azureml-msr/models/Phi-3-mini-4k-instruct/versions/11"
DATA_URI = "azureml://datastores/workspaceblobstore/paths/phi3/train_data.json"
# The cookbook's conda.yaml, as written (the job's environment gets python=3.11 instead of 3.8.13, with a note).
CONDA = """\
name: project_environment
channels:
  - defaults
dependencies:
  - python=3.8.13
  - pip=22.3.1
  - pip:
      - einops
      - accelerate
      - azure-keyvault-secrets
      - azure-identity
      - bitsandbytes
      - datasets
      - huggingface_hub
      - peft
      - scipy
      - sentencepiece
      - torch>=2.2.0
      - transformers
      - git+https://github.com/microsoft/Olive@jiapli/mlflow_loading_fix#egg=olive-ai[gpu]
"""


def cookbook_config(folder: Path, passes: dict | None = None) -> Path:
    """The seed document's AzureML variant: its snippets, with a top-level azureml_client."""
    (folder / "conda.yaml").write_text(CONDA)
    config = {
        "azureml_client": dict(IDS),
        "input_model": {"type": "PyTorchModel", "config": {
            "model_path": {"type": "azureml_registry_model", "config": {
                "name": "microsoft/Phi-3-mini-4k-instruct", "registry_name": "azureml-msr", "version": "11"}},
            "model_file_format": "PyTorch.MLflow",
            "hf_config": {"model_name": "microsoft/Phi-3-mini-4k-instruct", "task": "text-generation",
                          "from_pretrained_args": {"trust_remote_code": True}}}},
        "systems": {"aml": {"type": "AzureML", "config": {
            "accelerators": ["gpu"], "hf_token": True, "aml_compute": "gpu-cluster",
            "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04",
                                  "conda_file_path": "conda.yaml"}}}},
        "data_configs": [{
            "name": "dataset_default_train", "type": "HuggingfaceContainer",
            "load_dataset_config": {"params": {
                "data_name": "json", "split": "train",
                "data_files": {"type": "azureml_datastore", "config": {
                    "azureml_client": dict(IDS), "datastore_name": "workspaceblobstore",
                    "relative_path": "phi3/train_data.json"}}}},
            "pre_process_data_config": {"params": {
                "dataset_type": "corpus", "text_cols": ["phrase", "tone"],
                "text_template": "<|user|>\n{phrase}<|end|>\n<|assistant|>\n{tone}\n<|end|>",
                "corpus_strategy": "join", "source_max_len": 2048, "pad_to_max_len": False,
                "use_attention_mask": False}}}],
        "passes": passes or {
            "lora": {"type": "LoRA", "config": {
                "target_modules": ["o_proj", "qkv_proj"], "double_quant": True, "lora_r": 64, "lora_alpha": 64,
                "lora_dropout": 0.1, "train_data_config": "dataset_default_train", "eval_dataset_size": 0.3,
                "training_args": {"seed": 0, "data_seed": 42, "per_device_train_batch_size": 1,
                                  "per_device_eval_batch_size": 1, "gradient_accumulation_steps": 4,
                                  "gradient_checkpointing": False, "learning_rate": 0.0001, "num_train_epochs": 3,
                                  "max_steps": 10, "logging_steps": 10, "evaluation_strategy": "steps",
                                  "eval_steps": 187, "group_by_length": True, "adam_beta2": 0.999,
                                  "max_grad_norm": 0.3}}},
            "merge_adapter_weights": {"type": "MergeAdapterWeights"},
            "builder": {"type": "ModelBuilder", "config": {"precision": "int4"}}},
        "engine": {"log_severity_level": 0, "host": "aml", "target": "aml", "search_strategy": False,
                   "execution_providers": ["CUDAExecutionProvider"], "cache_dir": "cache", "output_dir": "out"},
    }
    path = folder / "olive-config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def signed_out_env(tmp_path: Path) -> dict[str, str]:
    """No Azure sign-in of any kind: no service principal, no az / azd / pwsh on PATH, an empty az config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    env.update({"PATH": str(Path(sys.executable).parent), "AZURE_CONFIG_DIR": str(tmp_path / "no-az"),
                "HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", **plugin_env()})
    return env


def test_the_cookbooks_config_dry_runs_with_no_credentials(tmp_path):
    """Its inputs are described, not fetched: the dry run contacts no Azure service and needs no sign-in."""
    pytest.importorskip("olivine_lora", reason="the cookbook's passes come from olivine-lora")
    pytest.importorskip("olivine_merge", reason="the cookbook's passes come from olivine-merge")
    pytest.importorskip("olivine_modelbuilder", reason="the cookbook's passes come from olivine-modelbuilder")
    config = cookbook_config(tmp_path)

    result = subprocess.run([sys.executable, "-m", "olivine", "run", "--config", str(config), "--dry-run"],
                            capture_output=True, text=True, timeout=300, env=signed_out_env(tmp_path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "dry-run"
    lora = load_and_validate(out / "lora" / "job.yaml")
    assert (lora.inputs["model"].path, lora.inputs["model"].type) == (REGISTRY_MODEL, "mlflow_model")
    data = next(i for i in lora.inputs.values() if i.path == DATA_URI)
    assert data.type == "uri_file"
    assert json.loads((out / "lora" / "uploads.json").read_text()) == [], "nothing goes up from this machine"
    moves = json.loads((out / "lora" / "moves.json").read_text())
    assert {m["from"] for m in moves["inputs"]} == {REGISTRY_MODEL, DATA_URI}
    assert any("workspace's own Key Vault" in note for note in moves["notes"])
    assert any("pins python=3.8.13" in note for note in moves["notes"])
    assert lora.environment.conda_file["dependencies"][0] == "python=3.11"
    spec = json.loads((out / "lora" / "code" / "spec.json").read_text())
    assert spec["config"]["double_quant"] is True
    # merge: the adapter is the lora job's output; its base is the registry model, mounted again
    merge = load_and_validate(out / "merge_adapter_weights" / "job.yaml")
    assert merge.inputs["base_model"].path == REGISTRY_MODEL
    assert json.loads((out / "merge_adapter_weights" / "uploads.json").read_text())[0]["digest"] is None
    load_and_validate(out / "builder" / "job.yaml")
    assert not (tmp_path / "cache" / "resources").exists() or not any((tmp_path / "cache" / "resources").iterdir())


def test_registry_model_and_datastore_data_are_job_inputs_and_nothing_is_uploaded(
        fake_workspace, azurite, tiny_model, train_file, tmp_path, monkeypatch):
    from olivine import content_key
    from olivine import run_workflow as run

    source = write_mlflow(tiny_model, tmp_path / "registry" / "mlflow_model_folder", "hftransformersv2")
    fake_workspace.models.models[("Phi-3-mini-4k-instruct", "11")] = source
    upload_tree(azurite.container_client(), train_file, "phi3")  # the data is already on the datastore
    (tmp_path / "phi3").mkdir()
    (tmp_path / "phi3" / "train.jsonl").write_text(train_file.read_text())
    config = cookbook_config(tmp_path, passes={
        "scale": {"type": "ScaleWeights", "factor": 0.5, "train_data_config": "dataset_default_train"},
        "again": {"type": "ScaleWeights", "factor": 4.0}})
    data = json.loads(config.read_text())
    data["data_configs"][0]["load_dataset_config"]["params"]["data_files"]["config"]["relative_path"] = \
        "phi3/train.jsonl"
    del data["data_configs"][0]["pre_process_data_config"]
    data["systems"]["aml"]["config"]["hf_token"] = False
    config.write_text(json.dumps(data))

    outcome = run(config, show_progress=False)

    first, second = fake_workspace.jobs.submitted.values()
    assert (first.job.inputs["model"].path, first.job.inputs["model"].type) == (REGISTRY_MODEL, "mlflow_model")
    data_input = next(i for i in first.job.inputs.values() if i.type == "uri_file")
    assert data_input.path == "azureml://datastores/workspaceblobstore/paths/phi3/train.jsonl"
    assert second.job.inputs["model"].path.endswith(f"/paths/olivine/jobs/{first.name}/out/model/")
    assert fake_workspace.models.downloads == [], "the registry model never came to this machine"
    assert list(azurite.container_client().list_blobs(name_starts_with="olivine/uploads/")) == []
    assert outcome.run["stages"][0]["report"]["rows"] == len(train_file.read_text().splitlines())
    assert any("pins python=3.8.13" in note for note in outcome.run["stages"][0]["report"]["notes"])
    assert first.job.environment.conda_file["dependencies"][0] == "python=3.11"
    # the job found the Hugging Face files inside the MLflow layout: the same result as scaling the plain model
    local = tmp_path / "local"
    local.mkdir()
    plain = {"input_model": {"type": "HfModel", "model_path": str(tiny_model)},
             "passes": {"scale": {"type": "ScaleWeights", "factor": 2.0}},
             "engine": {"cache_dir": "cache", "output_dir": "out"}}
    (local / "w.json").write_text(json.dumps(plain))
    expected = run(local / "w.json", show_progress=False)
    assert content_key(outcome.model.path / "model.safetensors") == content_key(
        expected.model.path / "model.safetensors")


def test_hf_token_without_a_key_vault_name_uses_the_workspaces_own(workflow, fake_workspace, tmp_path_factory):
    from olivine import run_workflow as run
    vault = tmp_path_factory.mktemp("vault") / "vault.json"
    vault.write_text(json.dumps({"https://ws-own-kv.vault.azure.net": {"hf-token": "hf_x"}}))
    fake_workspace.node_env = plugin_env(vault)
    config = workflow({"scale": {"type": "ScaleWeights"}}, system={
        "hf_token": True, "aml_compute": "gpu-cluster",
        "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                              "conda_file_path": "conda.yaml"}})
    data = json.loads(config.read_text())
    del data["azureml_client"]["keyvault_name"]
    config.write_text(json.dumps(data))

    described = run(config, show_progress=False, dry_run=True)
    assert fake_workspace.workspaces.gets == [], "a dry run asks the workspace nothing"
    notes = json.loads((described.output_dir / "scale" / "moves.json").read_text())["notes"]
    assert any("workspace's own Key Vault" in note for note in notes)
    outcome = run(config, show_progress=False)

    (job,) = (r.job for r in fake_workspace.jobs.submitted.values())
    assert job.environment_variables["OLIVINE_HF_TOKEN_KEYVAULT"] == "ws-own-kv"
    assert fake_workspace.workspaces.gets == ["ws"]
    assert outcome.run["stages"][-1]["report"]["hf_token_seen"] is True


def test_missing_azure_credentials_are_one_line(workflow, fake_workspace, tmp_path, monkeypatch, capsys, caplog):
    """The real DefaultAzureCredential, signed in nowhere; the fake MLClient asks it for a token as the service
    would."""
    from olivine.testing import run_olivine_here as main
    from olivine_azureml.credentials import NoAzureCredentials
    from olivine_azureml.workspace import credential

    for key, value in signed_out_env(tmp_path).items():
        if key != "OLIVINE_PLUGIN_MODULES":  # test_plugin's to set and restore (monkeypatch would restore it later)
            monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "AZURE_FEDERATED"))]:
        monkeypatch.delenv(key)
    monkeypatch.setattr("olivine_azureml.workspace.make_ml_client",
                        lambda config, ids, registry_name=None: _signed(fake_workspace, credential(config)))
    config = workflow({"scale": {"type": "ScaleWeights"}})

    with pytest.raises(SystemExit) as exited:
        main(["run", "--config", str(config), "--no-progress"])

    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no Azure credentials were found")
    assert "az login" in err[0] and "AZURE_CLIENT_SECRET" in err[0] and "managed identity" in err[0]

    monkeypatch.setenv("OLIVINE_DEBUG", "1")
    caplog.set_level("DEBUG", logger="olivine.azureml")
    with pytest.raises(NoAzureCredentials) as raised:
        main(["--debug", "run", "--config", str(config), "--no-progress"])
    tried = str(raised.value.__cause__)
    assert tried and any(tried in record.getMessage() for record in caplog.records), "--debug lists what was tried"


def _signed(client, credential):
    client.credential = credential
    return client
