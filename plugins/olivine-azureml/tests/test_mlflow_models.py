"""Models from AzureML (workspace or registry) in MLflow form: the Hugging Face files are found and load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow_layouts import CONFIG_FILES, TOKENIZER_FILES, write_mlflow
from olivine import mlflow_hf_folder as hf_folder


def logits(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():
        return model(**tokenizer("<|user|>\nI lost my keys<|end|>\n<|assistant|>\n", return_tensors="pt")).logits


@pytest.mark.parametrize("flavor", ["hftransformersv2", "transformers"])
def test_the_hugging_face_files_of_an_mlflow_model_load_as_the_original(tiny_model, tmp_path, flavor):
    import torch

    download = write_mlflow(tiny_model, tmp_path / "download" / "phi3" / "mlflow_model_folder", flavor)

    folder = hf_folder(tmp_path / "download", tmp_path / "hf")

    assert folder == tmp_path / "hf"
    assert {p.name for p in folder.iterdir()} == {"model.safetensors", *CONFIG_FILES, *TOKENIZER_FILES}
    assert torch.equal(logits(folder), logits(tiny_model))
    assert (download / "MLmodel").is_file(), "the download itself is left as it was"


def test_a_plain_folder_is_taken_as_is(tiny_model, tmp_path):
    assert hf_folder(tiny_model, tmp_path / "hf") == tiny_model
    assert not (tmp_path / "hf").exists()


def cookbook_workflow(tmp_path: Path, model_path: dict) -> Path:
    """The cookbook's input model: PyTorchModel + hf_config + model_file_format PyTorch.MLflow (old schema)."""
    config = {
        "azureml_client": {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws"},
        "input_model": {"type": "PyTorchModel", "config": {
            "model_path": model_path, "model_file_format": "PyTorch.MLflow",
            "hf_config": {"model_name": "microsoft/Phi-3-mini-4k-instruct", "task": "text-generation",
                          "from_pretrained_args": {"trust_remote_code": True}}}},
        "passes": {"scale": {"type": "ScaleWeights", "factor": 2.0}},
        "engine": {"cache_dir": "cache", "output_dir": "out"},
    }
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(config))
    return path


def test_a_registry_model_as_the_cookbook_writes_it(fake_workspace, tiny_model, tmp_path, monkeypatch):
    source = write_mlflow(tiny_model, tmp_path / "registry" / "mlflow_model_folder", "hftransformersv2")
    fake_workspace.models.models[("Phi-3-mini-4k-instruct", "11")] = source
    clients = []

    def make_ml_client(config, ids, registry_name=None):
        clients.append(registry_name)
        return fake_workspace

    monkeypatch.setattr("olivine_azureml.workspace.make_ml_client", make_ml_client)
    monkeypatch.setattr("olivine_azureml.fetching.make_ml_client", make_ml_client)
    config = cookbook_workflow(tmp_path, {"type": "azureml_registry_model", "config": {
        "name": "microsoft/Phi-3-mini-4k-instruct", "registry_name": "azureml-msr", "version": "11"}})
    from olivine import run_workflow as run

    outcome = run(config, show_progress=False)
    again = run(config, show_progress=False)

    assert clients == ["azureml-msr"], "one registry client, one download; the second run uses the cache"
    assert fake_workspace.models.downloads == [("Phi-3-mini-4k-instruct", "11")]
    assert again.run["cache_hits"] == 1
    assert (outcome.model.path / "tokenizer.json").is_file()
    assert outcome.run["stages"][-1]["report"]["hf_token_seen"] is False


def test_a_workspace_model_by_uri(fake_workspace, tiny_model, tmp_path):
    source = write_mlflow(tiny_model, tmp_path / "registered" / "mlflow_model_folder", "transformers")
    fake_workspace.models.models[("phi3-tone", "2")] = source
    config = cookbook_workflow(tmp_path, "azureml://subscriptions/sub/resourcegroups/rg/workspaces/ws/models/"
                                         "phi3-tone/versions/2")
    from olivine import run_workflow as run

    outcome = run(config, show_progress=False)

    assert fake_workspace.models.downloads == [("phi3-tone", "2")]
    assert (outcome.model.path / "model.safetensors").is_file()
