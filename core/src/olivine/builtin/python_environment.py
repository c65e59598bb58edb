"""PythonEnvironment: run a pass or an evaluation in another interpreter (a venv, a conda env).

This keeps conflicting packages apart, e.g. onnxruntime-gpu in one venv and onnxruntime in another.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from pydantic import Field

from olivine.builtin.local_system import check_execution_providers
from olivine.errors import ConfigError, PassError
from olivine.evaluators import EvalContext, Evaluator
from olivine.models import ModelRef
from olivine.passes import Pass, PassContext, ValidationContext
from olivine.paths import resolve_path
from olivine.runpass import eval_spec, pass_spec
from olivine.systems import System, SystemConfig

PROVIDER_PROBE = ("import json, sys; from olivine.runtimes import provider_problems as problems_for; "
                  "print(json.dumps(problems_for(json.loads(sys.argv[1]))))")


class PythonEnvironmentConfig(SystemConfig):
    python_environment_path: str = Field(description="Folder holding the interpreter (a venv's bin/) "
                                                     "or the interpreter itself")
    environment_variables: dict[str, str] = Field(
        default_factory=dict, description="Set in the interpreter's environment (VIRTUAL_ENV, PYTHONHOME and "
                                          "PYTHONPATH of this process are not passed on)")
    prepend_to_path: list[str] = Field(default_factory=list, description="Folders put in front of its PATH")


class PythonEnvironment(System):
    """Run passes and evaluations in another Python interpreter through `olivine run-pass`."""

    name = "PythonEnvironment"
    Config = PythonEnvironmentConfig

    def interpreter(self, workflow_dir: Path | None = None) -> Path:
        value = self.config.python_environment_path
        path = resolve_path(value, workflow_dir) if workflow_dir is not None else Path(value).expanduser()
        if path.is_dir():
            for candidate in ("python", "python3", "python.exe", "Scripts/python.exe"):
                if (path / candidate).exists():
                    return path / candidate
        return path

    def check(self, ctx: ValidationContext) -> None:
        python = self.interpreter(ctx.workflow_dir)
        key = f"systems.{self.key}.python_environment_path"
        if not python.exists():
            raise ConfigError(key, f"no Python interpreter at {python}")
        probe = subprocess.run([str(python), "-c", "import olivine"], capture_output=True, text=True,
                               env=self._env(), timeout=120)
        if probe.returncode != 0:
            raise ConfigError(key, f"olivine is not installed in {python}",
                              f"run: {python} -m pip install olivine and the plugins the workflow uses")
        # The providers it evaluates with must run in that interpreter, whatever this one has installed.
        check_execution_providers(self, ctx, lambda requests: self._ask_providers(python, requests, key))

    def _ask_providers(self, python: Path, requests: list[list[str]], key: str) -> list:
        probe = subprocess.run([str(python), "-c", PROVIDER_PROBE, json.dumps(requests)], capture_output=True,
                               text=True, env=self._env(), timeout=120)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(key, f"could not check execution providers in {python}: {last}",
                              "install the same olivine version there")
        return json.loads(probe.stdout.strip().splitlines()[-1])

    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        result = self._run(pass_spec(pass_, model, ctx), ctx.workflow_dir)
        ctx.report.update(result.get("report", {}))
        return ModelRef.from_json(result["model"])

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="olivine-eval-") as scratch:
            result = self._run(eval_spec(evaluator, model, ctx, Path(scratch)), ctx.workflow_dir)
        ctx.report.update(result.get("report", {}))
        return result["metrics"]

    def _run(self, spec: dict, workflow_dir: Path) -> dict:
        with tempfile.TemporaryDirectory(prefix="olivine-spec-") as folder:
            spec_file = Path(folder) / "spec.json"
            spec_file.write_text(json.dumps(spec, indent=2))
            command = [str(self.interpreter(workflow_dir)), "-m", "olivine", "run-pass", "--spec", str(spec_file)]
            completed = subprocess.run(command, env=self._env())
            result_file = spec_file.with_name("result.json")
            if not result_file.is_file():
                raise PassError(f"{self.key}: run-pass exited with {completed.returncode} and no result")
            result = json.loads(result_file.read_text())
        if "error" in result:
            raise PassError(f"{self.key} ({self.interpreter(workflow_dir)}): {result['error']}")
        return result

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
        env.update(self.config.environment_variables)
        if self.config.prepend_to_path:
            env["PATH"] = os.pathsep.join([*self.config.prepend_to_path, env.get("PATH", "")])
        env.setdefault("PYTHONIOENCODING", "utf-8")
        env["OLIVINE_CHILD"] = "1"
        return env
