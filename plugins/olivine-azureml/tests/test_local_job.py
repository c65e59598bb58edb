"""The job's command, run on this machine exactly as a compute node runs it, makes the LocalSystem's model."""

from __future__ import annotations

import json
from pathlib import Path

from aml_runtime import plugin_env, run_command_job
from dry_run_helpers import dry_run, load_and_validate, mount_from_upload_list
from olivine import content_key


def local_run(config: Path, out: Path):
    from olivine import run_workflow as run

    return run(config, output_dir=out, show_progress=False)


def test_job_command_in_a_fresh_interpreter_makes_the_local_model(workflow, tmp_path, test_plugin, train_file):
    passes = {"scale": {"type": "ScaleWeights", "factor": 0.5, "train_data_config": "tone_train"}}
    job_dir = dry_run(workflow(passes)) / "scale"
    job = load_and_validate(job_dir / "job.yaml")

    node = run_command_job(job, tmp_path / "node", mount_from_upload_list(job_dir / "uploads.json"), plugin_env())

    assert node.returncode == 0, node.log
    assert "olivine run-pass --spec" in node.log
    output = node.outputs["output"]
    result = json.loads((output / "result.json").read_text())
    assert "error" not in result, result
    assert result["model"]["path"] == str(output / "out" / "model")
    assert result["report"]["rows"] == len(train_file.read_text().splitlines())
    local = local_run(workflow(passes, engine={"host": None}), tmp_path / "local-out")
    assert local.run["stages"][-1]["report"]["rows"] == result["report"]["rows"]
    assert content_key(output / "out" / "model") == content_key(local.model.path)
    assert (output / "out" / "scale.txt").read_text() == "factor 0.5\n"


def test_a_failing_pass_fails_the_job_with_its_message_in_result_json(workflow, tmp_path, test_plugin):
    job_dir = dry_run(workflow({"broken": {"type": "FailingPass"}})) / "broken"
    job = load_and_validate(job_dir / "job.yaml")

    node = run_command_job(job, tmp_path / "node", mount_from_upload_list(job_dir / "uploads.json"), plugin_env())

    assert node.returncode == 1
    result = json.loads((node.outputs["output"] / "result.json").read_text())
    assert result["error"] == "RuntimeError: the tone data has no 'phrase' column"
