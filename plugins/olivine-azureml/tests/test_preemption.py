"""A preempted LoRA job is resubmitted and resumes from the checkpoint it left on the datastore.

The real LoRA pass trains inside the job (the local runner runs the job's command in a fresh interpreter);
its checkpoints go to the job's ``checkpoints`` output, a datastore path (Azurite) keyed by the pass's
cache key. The fake MLClient (no Azure is reachable) loses the first job's node as soon as a checkpoint is
written: SIGKILL of the whole command, as when a low-priority VM is reclaimed.
"""

from __future__ import annotations

import json

import pytest
from dry_run_helpers import dry_run, load_and_validate

STEPS = 30
LORA = {"type": "LoRA", "train_data_config": "tone_train", "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
        "training_args": {"seed": 3, "learning_rate": 1e-3, "per_device_train_batch_size": 1,
                          "gradient_accumulation_steps": 2, "max_steps": STEPS, "save_steps": 10,
                          "logging_steps": 10}}


def lora_workflow(workflow, **system):
    """The conftest's AzureML workflow with a LoRA pass on tone data pre-processed into prompts."""
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE

    config = workflow({"lora": LORA}, system={
        "accelerators": ["gpu"], "aml_compute": "low-priority-cluster", **system,
        "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                              "conda_file_path": "conda.yaml"}})
    data = json.loads(config.read_text())
    data["data_configs"][0]["pre_process_data_config"] = {
        "prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE, "max_seq_len": 64}
    config.write_text(json.dumps(data, indent=2))
    return config


def test_the_pass_job_writes_its_checkpoints_to_an_output_keyed_by_the_cache_key(workflow, test_plugin):
    pytest.importorskip("olivine_lora", reason="the LoRA pass comes from olivine-lora")
    out = dry_run(lora_workflow(workflow, max_retries=2))

    job = load_and_validate(out / "lora" / "job.yaml")
    checkpoints = job.outputs["checkpoints"]
    assert (checkpoints.type, checkpoints.mode) == ("uri_folder", "rw_mount")
    assert checkpoints.path.startswith("azureml://datastores/workspaceblobstore/paths/olivine/checkpoints/")
    key = checkpoints.path.rstrip("/").rsplit("/", 1)[-1]
    assert "--checkpoints ${{outputs.checkpoints}}" in job.command
    assert job.tags["olivine.max_retries"] == "2" and job.tags["olivine.attempt"] == "0"
    spec = json.loads((out / "lora" / "code" / "spec.json").read_text())
    assert spec["checkpoint_dir"] == "${{olivine.checkpoints}}"
    moves = json.loads((out / "lora" / "moves.json").read_text())
    assert moves["checkpoints"]["to"] == checkpoints.path
    # same workflow, same key: a later run (or a retry) finds the same folder
    again = load_and_validate(dry_run(lora_workflow(workflow, max_retries=2)) / "lora" / "job.yaml")
    assert again.outputs["checkpoints"].path.endswith(f"/olivine/checkpoints/{key}/")


@pytest.mark.slow
def test_a_preempted_job_is_resubmitted_and_resumes_from_its_checkpoint(workflow, fake_workspace, azurite):
    pytest.importorskip("olivine_lora", reason="the LoRA pass comes from olivine-lora")
    from olivine import run_workflow as run

    fake_workspace.jobs.preempt = 1
    config = lora_workflow(workflow, max_retries=1)

    outcome = run(config, show_progress=False)

    first, second = fake_workspace.jobs.submitted.values()
    assert first.status == "Failed" and "preempted" in first.error
    assert second.name == f"{first.name}-retry1" and second.status == "Completed"
    path = first.job.outputs["checkpoints"].path
    assert second.job.outputs["checkpoints"].path == path, "the retry writes to the same checkpoint folder"
    assert second.job.inputs["resume"].path == path, "and mounts what the preempted job left there"
    assert "resume" not in first.job.inputs
    report = outcome.run["stages"][0]["report"]
    resumed = report["resumed_from_step"]
    assert 10 <= resumed < STEPS and resumed % 10 == 0
    assert report["steps_run"] == STEPS - resumed
    assert f"resumed from the checkpoint at step {resumed} of {STEPS}" in report["notes"]
    assert (outcome.model.path / "adapter_model.safetensors").is_file()
    prefix = path.split("/paths/", 1)[1]
    assert not list(azurite.container_client().list_blobs(name_starts_with=prefix)), "deleted once the pass finished"


def test_without_retries_a_preempted_job_fails_and_the_next_run_resumes(workflow, fake_workspace, azurite):
    """The same through the user's own re-run: the first run fails in one line, the second resumes."""
    pytest.importorskip("olivine_lora", reason="the LoRA pass comes from olivine-lora")
    from olivine import PassError
    from olivine import run_workflow as run

    fake_workspace.jobs.preempt = 1
    config = lora_workflow(workflow)

    with pytest.raises(PassError, match=r"passes\.lora: AzureML job .* failed: .*preempted"):
        run(config, show_progress=False)
    (lost,) = fake_workspace.jobs.submitted.values()
    prefix = lost.job.outputs["checkpoints"].path.split("/paths/", 1)[1]
    assert any(b.name.endswith("/state.json") for b in azurite.container_client().list_blobs(name_starts_with=prefix))

    outcome = run(config, show_progress=False)

    assert outcome.run["stages"][0]["report"]["resumed_from_step"] >= 10
