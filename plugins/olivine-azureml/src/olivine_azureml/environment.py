"""The job's environment: a registered one, a base image plus conda file (olivine added), or a build context."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from olivine import ConfigError, resolve_path

from olivine_azureml.config import AzureMLConfig

MIN_PYTHON = (3, 10)
DEFAULT_PYTHON = "python=3.11"
_PYTHON_DEP = re.compile(r"^python\s*(==|=|>=|~=|<=|<|>)?\s*(\d+)(?:\.(\d+))?")


def conda_file(config: AzureMLConfig, workflow_dir: Path, path: str) -> Path | None:
    docker = config.aml_docker_config
    if docker is None or not docker.conda_file_path:
        return None
    file = _resolve(docker.conda_file_path, workflow_dir)
    if not file.is_file():
        raise ConfigError(f"{path}.aml_docker_config.conda_file_path", f"no conda file at {file}")
    return file


def load_conda(file: Path | None, path: str) -> dict[str, Any]:
    if file is None:
        return {"name": "olivine", "channels": ["conda-forge"], "dependencies": []}
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}.aml_docker_config.conda_file_path", f"{file} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise ConfigError(f"{path}.aml_docker_config.conda_file_path", f"{file} has no 'dependencies' list")
    return data


def job_python(conda: dict[str, Any], where: str) -> tuple[dict[str, Any], str | None]:
    """The conda spec the job gets, with a note when its Python changed: olivine needs 3.10+, and the Phi-3
    cookbook's conda file (which Olive users copy as it is) pins ``python=3.8.13``. A pin below 3.10 becomes
    ``python=3.11`` in the job's environment; the user's file is not touched. ``where`` names the file."""
    deps = list(conda.get("dependencies", []))
    for index, dep in enumerate(deps):
        match = _PYTHON_DEP.match(dep) if isinstance(dep, str) else None
        if not match or match.group(1) in (">=", ">"):
            continue
        version = (int(match.group(2)), int(match.group(3) or 0))
        too_old = version <= MIN_PYTHON if match.group(1) == "<" else version < MIN_PYTHON
        if too_old:
            deps[index] = DEFAULT_PYTHON
            note = (f"{where}: the conda file pins {dep.strip()}, but olivine needs Python 3.10 or newer; the "
                    f"job's environment uses {DEFAULT_PYTHON} instead (the file itself is unchanged)")
            return {**conda, "dependencies": deps}, note
    return conda, None


def with_requirements(conda: dict[str, Any], requirements: list[str]) -> dict[str, Any]:
    """A copy of the conda spec whose pip list also installs ``requirements`` (olivine and the plugins)."""
    conda = {**conda, "dependencies": list(conda.get("dependencies", []))}
    deps = conda["dependencies"]
    names = [re.split(r"[<>=!~ ]", d.strip(), maxsplit=1)[0] for d in deps if isinstance(d, str)]
    if "python" not in names:
        deps.insert(0, DEFAULT_PYTHON)
    if "pip" not in names:
        deps.append("pip")
    pip = next((d for d in deps if isinstance(d, dict) and "pip" in d), None)
    if pip is None:
        pip = {"pip": []}
        deps.append(pip)
    listed = {_requirement_name(r) for r in pip["pip"] or [] if isinstance(r, str)}
    pip["pip"] = [*(pip["pip"] or []), *(r for r in requirements if _requirement_name(r) not in listed)]
    return conda


def requirements_file_lines(config: AzureMLConfig, workflow_dir: Path, path: str) -> list[str]:
    if not config.requirements_file:
        return []
    file = _resolve(config.requirements_file, workflow_dir)
    if not file.is_file():
        raise ConfigError(f"{path}.requirements_file", f"no requirements file at {file}")
    return [line.strip() for line in file.read_text().splitlines() if line.strip() and not line.startswith("#")]


def job_environment(config: AzureMLConfig, workflow_dir: Path, requirements: list[str], path: str):
    """The azure-ai-ml Environment (or ``azureml:name:version`` reference) a job runs in."""
    from azure.ai.ml.entities import BuildContext, Environment

    if config.aml_environment_config is not None:
        env = config.aml_environment_config
        suffix = f"@{env.label}" if env.label else f":{env.version or '1'}"
        return f"azureml:{env.name}{suffix}"
    docker = config.aml_docker_config
    if docker is None:
        raise ConfigError(f"{path}.aml_docker_config", "the AzureML system needs an environment",
                          "set aml_docker_config (base_image and conda_file_path) or aml_environment_config")
    if docker.build_context_path:
        context = _resolve(docker.build_context_path, workflow_dir)
        build = BuildContext(path=str(context), dockerfile_path=docker.dockerfile or "Dockerfile")
        return Environment(name=docker.name, version=docker.version, build=build)
    conda, _ = job_python(load_conda(conda_file(config, workflow_dir, path), path), path)
    extra = requirements_file_lines(config, workflow_dir, path)
    return Environment(name=docker.name, version=docker.version, image=docker.base_image,
                       conda_file=with_requirements(conda, [*requirements, *extra]))


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _resolve(value: str, workflow_dir: Path) -> Path:
    return resolve_path(value, workflow_dir)
