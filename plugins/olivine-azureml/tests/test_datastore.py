"""``azureml_datastore`` and ``azureml://`` data against a real blob service (Azurite) via azure-storage-blob."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from olivine import OlivineError, ResourceContext
from olivine_azureml.blobs import download_prefix, upload_tree
from olivine_azureml.resources import AzureMLDatastore

CLIENT = {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws"}


def fetch(resource, tmp_path: Path, client=CLIENT) -> Path:
    return resource.fetch(ResourceContext(download_dir=tmp_path / "download", workflow_dir=tmp_path,
                                          sections={"azureml_client": client}))


def datastore(config: dict) -> AzureMLDatastore:
    return AzureMLDatastore(AzureMLDatastore.parse_config(config, "data_files"))


def test_upload_and_download_round_trip(azurite, tmp_path, tiny_model):
    container = azurite.container_client()

    sent = upload_tree(container, tiny_model, "olivine/uploads/x")
    files = download_prefix(container, "olivine/uploads/x", tmp_path / "back")

    assert sent == sum(p.stat().st_size for p in tiny_model.iterdir())
    assert sorted(p.name for p in files) == sorted(p.name for p in tiny_model.iterdir())
    assert (tmp_path / "back" / "config.json").read_bytes() == (tiny_model / "config.json").read_bytes()


def test_a_datastore_file_through_the_workspace(azurite, fake_workspace, tmp_path, train_file):
    upload_tree(azurite.container_client(), train_file, "data/tone")

    local = fetch(datastore({"datastore_name": "workspaceblobstore", "relative_path": "data/tone/train.jsonl"}),
                  tmp_path)

    assert local.name == "train.jsonl" and local.read_bytes() == train_file.read_bytes()
    assert fake_workspace.datastores.gets == [("workspaceblobstore", True)]


def test_a_datastore_folder(azurite, fake_workspace, tmp_path, tiny_model):
    upload_tree(azurite.container_client(), tiny_model, "models/tiny")

    local = fetch(datastore({"relative_path": "models/tiny/"}), tmp_path)

    assert sorted(p.name for p in local.iterdir()) == sorted(p.name for p in tiny_model.iterdir())


def test_nothing_at_the_path_is_a_clear_error(azurite, fake_workspace, tmp_path):
    with pytest.raises(OlivineError, match="nothing at azureml://datastores/workspaceblobstore/paths/data/missing"):
        fetch(datastore({"relative_path": "data/missing.json"}), tmp_path)


def test_a_connection_string_skips_the_workspace_and_stays_out_of_the_cache_key(azurite, tmp_path, train_file):
    upload_tree(azurite.container_client(), train_file, "data")
    resource = datastore({"relative_path": "data/train.jsonl", "container_name": azurite.container,
                          "connection_string": azurite.connection_string})

    local = fetch(resource, tmp_path, client=None)

    assert local.read_bytes() == train_file.read_bytes()
    assert "AccountKey" not in resource.identity()
    assert "AccountKey" not in repr(resource.config)


def test_a_sas_token_stays_out_of_the_cache_key_and_the_config_repr():
    """The identity is written to the cache folder; a SAS URL's token must not be. (No storage call.)"""
    sas = "https://acct.blob.core.windows.net/?sv=2022-11-02&sig=SECRETSIG"
    resource = datastore({"relative_path": "data/train.jsonl", "container_name": "c", "account_url": sas})
    renewed = datastore({"relative_path": "data/train.jsonl", "container_name": "c",
                         "account_url": sas.replace("SECRETSIG", "OTHERSIG")})
    assert "SECRETSIG" not in resource.identity() and "SECRETSIG" not in repr(resource.config)
    assert "acct.blob.core.windows.net" in resource.identity()
    assert resource.identity() == renewed.identity()


def test_an_azureml_uri_as_data_files_in_a_workflow(azurite, fake_workspace, workflow, tmp_path, train_file):
    upload_tree(azurite.container_client(), train_file, "tone")
    config = workflow({"scale": {"type": "ScaleWeights", "train_data_config": "tone_train"}}, engine={"host": None})
    data = json.loads(config.read_text())
    data["data_configs"][0]["load_dataset_config"]["data_files"] = \
        "azureml://datastores/workspaceblobstore/paths/tone/train.jsonl"
    config.write_text(json.dumps(data))
    from olivine import run_workflow as run

    outcome = run(config, show_progress=False)
    again = run(config, show_progress=False)

    assert outcome.run["stages"][-1]["report"]["rows"] == len(train_file.read_text().splitlines())
    assert again.run["cache_hits"] == 1
    assert fake_workspace.datastores.gets == [("workspaceblobstore", True)], "downloaded once, then cached"
