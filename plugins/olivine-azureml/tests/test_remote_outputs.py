"""LoRA then merge, both on AzureML: the adapter stays in the datastore, only the merged model comes home.

The real LoRA and merge passes run inside the jobs (the local runner runs each job's command in a fresh
interpreter, its inputs mounted from Azurite); the fake MLClient stands in only for the service.
"""

from __future__ import annotations

import json
import logging

import pytest
from olivine import content_key

LORA = {"type": "LoRA", "train_data_config": "tone_train", "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
        "training_args": {"seed": 3, "learning_rate": 1e-3, "per_device_train_batch_size": 1,
                          "gradient_accumulation_steps": 1, "max_steps": 2, "logging_steps": 1}}
PASSES = {"lora": LORA, "merge": {"type": "MergeAdapterWeights"}}


def lora_merge(workflow, **engine):
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE

    config = workflow(PASSES, engine=engine or None)
    data = json.loads(config.read_text())
    data["data_configs"][0]["pre_process_data_config"] = {
        "prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE, "max_seq_len": 64}
    config.write_text(json.dumps(data, indent=2))
    return config


@pytest.mark.slow
def test_lora_then_merge_on_azureml_downloads_only_the_merged_model(workflow, fake_workspace, azurite,
                                                                    monkeypatch, caplog):
    pytest.importorskip("olivine_lora", reason="LoRA and MergeAdapterWeights come from olivine-lora")
    from olivine import run_workflow
    from olivine_azureml import blobs

    read: list[str] = []  # blobs downloaded to this machine (the fake job's node mounts its own inputs)
    real, nodes = blobs._download_file, str(fake_workspace.node_root)

    def recorded(container, name, target):
        if not str(target).startswith(nodes):
            read.append(name)
        return real(container, name, target)

    monkeypatch.setattr(blobs, "_download_file", recorded)
    outcome = run_workflow(lora_merge(workflow), show_progress=False)

    lora_job, merge_job = fake_workspace.jobs.submitted.values()
    assert merge_job.job.inputs["model"].path.startswith("azureml://datastores/")
    assert f"/paths/olivine/jobs/{lora_job.name}/out/" in merge_job.job.inputs["model"].path
    adapter = merge_job.job.inputs["model"].path.split("/paths/", 1)[1]
    assert adapter.startswith(f"olivine/jobs/{lora_job.name}/out/")
    assert not [n for n in read if n.startswith(adapter)], "the adapter stays in the datastore"
    assert [n for n in read if n.startswith(f"olivine/jobs/{merge_job.name}/out/")], "the merged model comes home"
    lora_stage, merge_stage = outcome.run["stages"]
    entry = outcome.output_dir.parent / "cache" / "models" / lora_stage["cache_key"]
    assert not list(entry.rglob("*.safetensors")), "no adapter weights in the local cache"
    assert outcome.model.format == "hf" and (outcome.model.path / "config.json").is_file()

    local = run_workflow(lora_merge(workflow, host=None, cache_dir="local-cache"), show_progress=False,
                         output_dir=outcome.output_dir.parent / "local-out")
    assert content_key(outcome.model.path) == content_key(local.model.path), "the same merged model as locally"

    # The same cache from a run on this machine: the adapter left in the datastore is not reachable from
    # here (the cache key does not name the host), so LoRA runs again, and the log says why in those words.
    olivine_log = logging.getLogger("olivine")  # olivine's records do not reach the root logger
    olivine_log.addHandler(caplog.handler)
    try:
        again = run_workflow(lora_merge(workflow, host=None), show_progress=False,
                             output_dir=outcome.output_dir.parent / "again-out")
    finally:
        olivine_log.removeHandler(caplog.handler)
    assert again.run["stages"][0]["cache_hit"] is False
    set_aside = [r.getMessage() for r in caplog.records if "re-running" in r.getMessage()]
    assert set_aside and "left at system 'aml'" in set_aside[0] and "unreachable" in set_aside[0], set_aside
    assert not any("; corrupt," in line for line in set_aside)  # (the folder it moves to is still corrupt/)
