"""The Hugging Face token: read from Key Vault inside the job, given to the pass, written nowhere.

The Key Vault is a fake (``support/fake_keyvault``): no Azure is reachable from the test machines.
"""

from __future__ import annotations

import json
import secrets

import pytest
from aml_runtime import plugin_env
from olivine import PassError

SCALE = {"scale": {"type": "ScaleWeights", "factor": 0.5, "train_data_config": "tone_train"}}
VAULT = "https://olivine-kv.vault.azure.net"


def run(config, **kwargs):
    from olivine import run_workflow as engine_run

    return engine_run(config, show_progress=False, **kwargs)


@pytest.fixture
def token_system():
    return {"accelerators": ["gpu"], "hf_token": True, "aml_compute": "gpu-cluster",
            "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                                  "conda_file_path": "conda.yaml"}}


def vault_with(tmp_path_factory, values: dict[str, str]):
    """The fake vault's content lives outside every folder the test scans."""
    file = tmp_path_factory.mktemp("vault") / "vault.json"
    file.write_text(json.dumps({VAULT: values}))
    return file


def test_the_token_reaches_the_pass_and_is_written_nowhere(workflow, fake_workspace, azurite, token_system, tmp_path,
                                                           tmp_path_factory, monkeypatch, capsys, caplog):
    token, local_token = f"hf_{secrets.token_hex(16)}", f"hf_{secrets.token_hex(16)}"
    fake_workspace.node_env = plugin_env(vault_with(tmp_path_factory, {"hf-token": token}))
    monkeypatch.setenv("HF_TOKEN", local_token)  # this machine's own token must not travel either
    config = workflow(SCALE, system=token_system)

    outcome = run(config)
    run(config, dry_run=True)

    assert outcome.run["stages"][-1]["report"]["hf_token_seen"] is True
    (job,) = (r.job for r in fake_workspace.jobs.submitted.values())
    assert job.environment_variables == {"OLIVINE_HF_TOKEN_KEYVAULT": "olivine-kv",
                                         "OLIVINE_HF_TOKEN_SECRET": "hf-token"}
    captured = capsys.readouterr()
    written = {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert any(name.endswith("run.json") for name in written) and any("dry-run" in name for name in written)
    container = azurite.container_client()
    written.update({b.name: container.download_blob(b.name).readall() for b in container.list_blobs()})
    written.update({"stdout": captured.out.encode(), "stderr": captured.err.encode(), "log": caplog.text.encode()})
    for secret in (token, local_token):
        assert [name for name, data in written.items() if secret.encode() in data] == []


def test_a_missing_secret_fails_the_job_naming_the_vault_not_a_value(workflow, fake_workspace, token_system,
                                                                     tmp_path_factory):
    fake_workspace.node_env = plugin_env(vault_with(tmp_path_factory, {"other-secret": "hf_not_this_one"}))

    with pytest.raises(PassError) as failure:
        run(workflow(SCALE, system=token_system))

    message = str(failure.value)
    assert "could not read the Hugging Face token from Key Vault olivine-kv: ResourceNotFoundError" in message
    assert "hf_not_this_one" not in message
