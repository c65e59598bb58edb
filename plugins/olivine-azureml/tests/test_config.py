"""The AzureML system's config, as the Phi-3 cookbook writes it and in the current shape: checked before any work."""

from __future__ import annotations

import json

import pytest
from olivine import ConfigErrors

SCALE = {"scale": {"type": "ScaleWeights"}}
COOKBOOK_CONDA_38 = """\
name: project_environment
channels:
  - defaults
dependencies:
  - python=3.8.13
  - pip=22.3.1
  - pip:
      - einops
      - torch>=2.2.0
"""


def errors_of(config) -> list[str]:
    from olivine import validate_workflow as validate

    with pytest.raises(ConfigErrors) as caught:
        validate(config)
    return [error.line() for error in caught.value.errors]


def edit(config, change) -> None:
    data = json.loads(config.read_text())
    change(data)
    config.write_text(json.dumps(data))


def test_the_cookbook_shape_and_the_current_shape_both_validate(workflow, test_plugin):
    from olivine import validate_workflow as validate

    old = validate(workflow(SCALE))
    system = old.host
    assert (system.name, system.key, system.config.aml_compute) == ("AzureML", "aml", "gpu-cluster")
    assert system.accelerator().execution_provider == "CUDAExecutionProvider"

    config = workflow(SCALE)
    edit(config, lambda d: d["systems"]["aml"].update(d["systems"]["aml"].pop("config")))
    assert validate(config).host.config == system.config


def test_the_cookbooks_python_3_8_conda_file_runs_on_a_python_olivine_supports(workflow, tmp_path, test_plugin,
                                                                              caplog):
    """Olive users copy the cookbook's conda file as it is: the job gets python=3.11 instead, with a note."""
    from dry_run_helpers import dry_run, load_and_validate

    config = workflow(SCALE)
    (tmp_path / "conda.yaml").write_text(COOKBOOK_CONDA_38)
    note = ("systems.aml.aml_docker_config.conda_file_path: the conda file pins python=3.8.13, but olivine needs "
            "Python 3.10 or newer; the job's environment uses python=3.11 instead (the file itself is unchanged)")

    with caplog.at_level("WARNING", logger="olivine.azureml"):
        out = dry_run(config)

    job = load_and_validate(out / "scale" / "job.yaml")
    deps = job.environment.conda_file["dependencies"]
    assert deps[:2] == ["python=3.11", "pip=22.3.1"] and "einops" in deps[2]["pip"]
    assert note in json.loads((out / "scale" / "moves.json").read_text())["notes"]
    assert note in caplog.messages
    assert (tmp_path / "conda.yaml").read_text() == COOKBOOK_CONDA_38


@pytest.mark.parametrize("line, kept", [("python=3.11", True), ("python>=3.8", True), ("python<3.10", False),
                                        ("python==3.9.*", False), ("python", True)])
def test_only_a_python_pin_below_3_10_is_replaced(line, kept):
    from olivine_azureml.environment import job_python

    conda, note = job_python({"dependencies": [line, "pip"]}, "conda.yaml")

    assert conda["dependencies"] == ([line] if kept else ["python=3.11"]) + ["pip"]
    assert (note is None) == kept


def test_an_unknown_key_gets_a_did_you_mean(workflow, test_plugin):
    config = workflow(SCALE)
    edit(config, lambda d: d["systems"]["aml"]["config"].update(aml_comptue="gpu"))

    assert errors_of(config) == ["systems.aml.config.aml_comptue: unknown key (did you mean aml_compute?)"]


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.pop("azureml_client"), "azureml_client: system aml (AzureML) needs the workspace"),
    (lambda d: d["azureml_client"].pop("workspace_name"), "azureml_client.workspace_name: missing workspace_name"),
    # a missing key has no place in the user's file: its path is the current shape's
    (lambda d: d["systems"]["aml"]["config"].pop("aml_compute"), "systems.aml.aml_compute: no compute"),
    (lambda d: d["systems"]["aml"]["config"].pop("aml_docker_config"),
     "systems.aml.aml_docker_config: the AzureML system needs an environment"),
    (lambda d: d["systems"]["aml"]["config"]["aml_docker_config"].update(conda_file_path="missing.yaml"),
     "systems.aml.config.aml_docker_config.conda_file_path: no conda file at"),
    (lambda d: d["azureml_client"].update(subscription_idd="x"),
     "azureml_client.subscription_idd: unknown key (did you mean subscription_id?)"),
    (lambda d: d["systems"]["aml"]["config"].update(
        accelerators=[{"device": "gpu", "execution_providers": ["DmlExecutionProvider"]}]),
     "systems.aml.config.accelerators[0].execution_providers[0]: DmlExecutionProvider runs on Windows only, "
     "and AzureML jobs run in Linux containers"),
    (lambda d: d["systems"]["aml"]["config"].update(
        accelerators=[{"device": "gpu", "execution_providers": ["CUDAExecutionProvder"]}]),
     "systems.aml.config.accelerators[0].execution_providers[0]: unknown execution provider "
     "'CUDAExecutionProvder' (did you mean CUDAExecutionProvider?)"),
])
def test_what_the_system_needs_is_named_by_its_path(workflow, test_plugin, change, expected):
    config = workflow(SCALE)
    edit(config, change)

    (line,) = errors_of(config)
    assert line.startswith(expected)


def test_the_workspace_from_a_config_json(workflow, tmp_path, test_plugin):
    from olivine import validate_workflow as validate

    (tmp_path / "config.json").write_text(json.dumps({"subscription_id": "s", "resource_group": "r",
                                                      "workspace_name": "w"}))
    config = workflow(SCALE)
    edit(config, lambda d: d.update(azureml_client={"aml_config_path": "config.json"}))
    validate(config)

    edit(config, lambda d: d.update(azureml_client={"aml_config_path": "nowhere.json"}))
    assert errors_of(config)[0].startswith("azureml_client.aml_config_path: no workspace config file at")
