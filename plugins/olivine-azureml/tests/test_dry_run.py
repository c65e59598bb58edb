"""`olivine run --dry-run`: each AzureML job written as YAML that azure-ai-ml itself accepts, offline."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aml_runtime import plugin_env
from dry_run_helpers import dry_run, load_and_validate


def olivine(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **plugin_env()}
    return subprocess.run([sys.executable, "-m", "olivine", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd)


SCALE = {"scale": {"type": "ScaleWeights", "factor": 3.0, "train_data_config": "tone_train"}}


def test_dry_run_writes_each_job_and_its_uploads_without_running(workflow, tmp_path, tiny_model, train_file):
    config = workflow({**SCALE, "tag": {"type": "TagAdapter"}})

    result = olivine("run", "--config", config, "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "dry run: nothing ran or was submitted" in result.stdout
    scale_dir = tmp_path / "out" / "dry-run" / "scale"
    job = load_and_validate(scale_dir / "job.yaml")
    assert job.compute == "gpu-cluster"
    assert job.command.startswith("python olivine_job.py --spec spec.json --output ${{outputs.output}}")
    pip = next(d for d in job.environment.conda_file["dependencies"] if isinstance(d, dict))["pip"]
    assert f"olivine[hf]=={importlib.metadata.version('olivine')}" in pip and "datasets" in pip
    uploads = {u["input"]: u for u in json.loads((scale_dir / "uploads.json").read_text())}
    assert uploads["model"]["local_path"] == str(tiny_model)
    assert uploads["data_0"]["local_path"] == str(train_file)
    assert job.inputs["model"].path == uploads["model"]["target"]
    spec = json.loads((scale_dir / "code" / "spec.json").read_text())
    assert spec["model"]["path"] == "${{inputs.model}}"
    assert spec["data_configs"][0]["load_dataset_config"]["data_files"] == "${{inputs.data_0}}"
    assert str(tmp_path) not in json.dumps(spec), "no local path of this machine reaches the job"
    # the second job takes the first one's output, which a dry run does not produce
    tag_uploads = json.loads((tmp_path / "out" / "dry-run" / "tag" / "uploads.json").read_text())
    assert tag_uploads == [{**tag_uploads[0], "digest": None, "note": "output of scale, not produced in a dry run"}]
    load_and_validate(tmp_path / "out" / "dry-run" / "tag" / "job.yaml")
    assert not list((tmp_path / "cache" / "models").iterdir()), "nothing ran, nothing cached"
    assert not (tmp_path / "out" / "model").exists()


def test_dry_run_is_deterministic(workflow, test_plugin):
    out = dry_run(workflow(SCALE))
    text = (out / "scale" / "job.yaml").read_text()
    assert (dry_run(workflow(SCALE)) / "scale" / "job.yaml").read_text() == text


MALFORMED = [
    (("type: uri_folder", "type: uri_foldr"), "uri_foldr"),  # schema: not an input type
    (("environment:\n", "environmnt:\n"), "environmnt"),  # schema: unknown field, missing environment
    (("model=${{inputs.model}}", "model=${{inputs.modle}}"), "modle"),  # entity: command binds no such input
    (("type: command", "type: comand"), "comand"),
]


def test_a_malformed_job_yaml_is_rejected_offline(workflow, test_plugin):
    job_yaml = dry_run(workflow(SCALE)) / "scale" / "job.yaml"
    text = job_yaml.read_text()
    load_and_validate(job_yaml)
    for (old, new), message in MALFORMED:
        assert old in text
        job_yaml.write_text(text.replace(old, new, 1))
        with pytest.raises(Exception, match=message):
            load_and_validate(job_yaml)


def test_registered_environment_and_serverless_compute(workflow, test_plugin):
    config = workflow(SCALE, system={"resources": {"instance_type": "Standard_NC24ads_A100_v4", "shm_size": "16g"},
                                     "aml_environment_config": {"name": "olivine-gpu", "version": "3"},
                                     "tags": {"team": "tone"}})

    job = load_and_validate(dry_run(config) / "scale" / "job.yaml")
    assert job.environment.removeprefix("azureml:") == "olivine-gpu:3"
    assert job.compute is None and job.resources.instance_type == "Standard_NC24ads_A100_v4"
    assert job.resources.shm_size == "16g"
    assert job.tags["team"] == "tone" and job.tags["olivine.step"] == "scale"


def test_docker_build_context(workflow, tmp_path, test_plugin):
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM python:3.11\nRUN pip install olivine[hf]\n")
    config = workflow(SCALE, system={"aml_compute": "cpu-cluster", "instance_count": 1,
                                     "aml_docker_config": {"build_context_path": "docker"}})

    job = load_and_validate(dry_run(config) / "scale" / "job.yaml")
    assert Path(job.environment.build.path).resolve() == (tmp_path / "docker").resolve()
    assert job.environment.build.dockerfile_path == "Dockerfile"


def test_evaluations_on_target_aml_are_described_too(workflow, test_plugin):
    evaluators = {"weights": {"metrics": [{"name": "weights", "type": "WeightSum",
                                           "sub_types": [{"name": "abs_sum"}]}]}}
    out = dry_run(workflow(SCALE, engine={"target": "aml", "evaluator": "weights"}, evaluators=evaluators))

    described = sorted(p.parent.name for p in out.glob("*/job.yaml"))
    assert described[-1] == "scale" and len(described) == 3, "the pass, and the metric on the input and on its output"
    for name in described[:-1]:
        assert name.startswith("evaluate-weights-")
        job = load_and_validate(out / name / "job.yaml")
        assert job.display_name == "olivine evaluate weights"
    run_record = json.loads((out / "run.json").read_text())
    assert run_record["dry_run"] is True


def test_a_local_pass_does_not_run_in_a_dry_run(workflow, tmp_path, test_plugin):
    config = workflow({"scale": {**SCALE["scale"], "host": "here"}, "tag": {"type": "TagAdapter"}})
    data = json.loads(config.read_text())
    data["systems"]["here"] = {"type": "LocalSystem"}
    config.write_text(json.dumps(data))

    out = dry_run(config)

    stages = {s["name"]: s for s in json.loads((out / "run.json").read_text())["stages"]}
    assert stages["scale"]["report"] == {"dry_run": True, "host": "here"}
    assert stages["tag"]["report"]["described_in"] == str(out / "tag")
    assert not (out / "scale").exists()
    assert not list((tmp_path / "cache" / "models").iterdir())
    uploads = json.loads((out / "tag" / "uploads.json").read_text())
    assert uploads[0]["note"] == "output of scale, not produced in a dry run"


def test_an_onnx_genai_evaluation_job_installs_the_runtime_for_its_provider(workflow, tmp_path, test_plugin):
    """olivine[hf] has no onnxruntime-genai: a job evaluating an int4 model on a GPU cluster gets the CUDA one."""
    from importlib import metadata

    genai = tmp_path / "int4"
    genai.mkdir()
    (genai / "genai_config.json").write_text(json.dumps({"model": {"decoder": {"filename": "model.onnx"}}}))
    (genai / "model.onnx").write_bytes(b"onnx")
    config = workflow({}, engine={"target": "aml", "evaluator": "size"},
                      evaluators={"size": {"metrics": [{"name": "size", "type": "size"}]}})
    data = json.loads(config.read_text())
    data["input_model"] = {"type": "ONNXModel", "model_path": str(genai)}
    config.write_text(json.dumps(data))
    out = dry_run(config)
    job = load_and_validate(next(out.glob("evaluate-size-*/job.yaml")))
    pip = next(d for d in job.environment.conda_file["dependencies"] if isinstance(d, dict))["pip"]
    assert f"onnxruntime-genai-cuda=={metadata.version('onnxruntime-genai')}" in pip


def test_a_pass_writing_an_onnx_genai_model_gets_the_runtime_flavour_of_its_provider(workflow):
    """olivine-modelbuilder installs onnxruntime-genai only through an extra; the job names the flavour itself
    (building for the GPU target: the CUDA one)."""
    pytest.importorskip("olivine_modelbuilder", reason="needs the olivine-modelbuilder plugin")
    from importlib import metadata

    out = dry_run(workflow({"builder": {"type": "ModelBuilder", "precision": "int4"}}, engine={"target": "aml"}))

    job = load_and_validate(out / "builder" / "job.yaml")
    pip = next(d for d in job.environment.conda_file["dependencies"] if isinstance(d, dict))["pip"]
    assert f"olivine-modelbuilder=={metadata.version('olivine-modelbuilder')}" in pip
    assert f"onnxruntime-genai-cuda=={metadata.version('onnxruntime-genai')}" in pip
