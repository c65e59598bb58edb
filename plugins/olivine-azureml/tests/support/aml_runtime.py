"""Run an AzureML command job on this machine the way a compute node does.

The AzureML runtime copies the code snapshot to the node, mounts each input (``ro_mount``) and output
(``rw_mount``) as a folder or file, substitutes ``${{inputs.NAME}}`` / ``${{outputs.NAME}}`` in the
command, sets the job's environment variables and runs the command with bash in the snapshot folder.
This does the same with local folders, in a fresh interpreter of this venv.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUPPORT = Path(__file__).parent
_BINDING = re.compile(r"\$\{\{(inputs|outputs)\.([A-Za-z0-9_]+)\}\}")


@dataclass
class JobRun:
    returncode: int
    log: str
    outputs: dict[str, Path]
    preempted: bool = False


def as_command_job(job):
    return job._to_job() if hasattr(job, "_to_job") else job


def run_command_job(job, node_dir: Path, mount_input: Callable[[str, str, Path], Path],
                    extra_env: dict[str, str] | None = None, timeout: int = 300,
                    preempt_when: Callable[[dict[str, Path]], bool] | None = None) -> JobRun:
    """``mount_input(uri, type, folder)`` makes an input available locally and returns its path.

    ``preempt_when(outputs)``: checked while the command runs; once true the node is lost (SIGKILL of the
    whole command, as when a low-priority VM is taken back), and what the outputs hold so far stays."""
    job = as_command_job(job)
    node_dir.mkdir(parents=True, exist_ok=True)
    workdir = node_dir / "code"
    shutil.copytree(job.code, workdir)
    inputs = {name: mount_input(inp.path, inp.type, node_dir / "inputs" / name) for name, inp in job.inputs.items()}
    outputs = {name: node_dir / "outputs" / name for name in job.outputs}
    for folder in outputs.values():
        folder.mkdir(parents=True)

    def bind(match: re.Match) -> str:
        kind, name = match.groups()
        return str(inputs[name] if kind == "inputs" else outputs[name])

    command = _BINDING.sub(bind, job.command)
    bash = shutil.which("bash") or "/bin/bash"
    if preempt_when is None:
        completed = subprocess.run([bash, "-c", command], cwd=workdir, env=job_env(job, extra_env), timeout=timeout,
                                   capture_output=True, text=True)
        return JobRun(completed.returncode, completed.stdout + completed.stderr, outputs)
    return _run_until_preempted([bash, "-c", command], workdir, job_env(job, extra_env), timeout, outputs,
                                preempt_when)


def _run_until_preempted(argv, workdir: Path, env, timeout: int, outputs: dict[str, Path], preempt_when) -> JobRun:
    log = workdir.parent / "job.log"
    with open(log, "w") as sink:  # a file, not a pipe: a killed job's output must not block it
        process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own group: bash, olivine_job.py, run-pass
        deadline = time.monotonic() + timeout
        preempted = False
        while process.poll() is None and time.monotonic() < deadline:
            if preempt_when(outputs):
                os.killpg(process.pid, signal.SIGKILL)
                preempted = True
                break
            time.sleep(0.02)
        if process.poll() is None and not preempted:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    return JobRun(process.returncode, log.read_text(), outputs, preempted)


def job_env(job, extra: dict[str, str] | None) -> dict[str, str]:
    """A node's environment: PATH with this venv's python and olivine first, the job's variables, test plugins."""
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/tmp"),
           "LANG": "C.UTF-8", "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}
    env.update({k: str(v) for k, v in (job.environment_variables or {}).items()})
    env.update(extra or {})
    return env


def plugin_env(keyvault_file: Path | None = None) -> dict[str, str]:
    """What `pip install` of the test plugin would give the node, plus the fake Key Vault when asked."""
    paths = [str(SUPPORT)] + ([str(SUPPORT / "fake_keyvault")] if keyvault_file else [])
    env = {"PYTHONPATH": os.pathsep.join(paths), "OLIVINE_PLUGIN_MODULES": "olivine_azureml_testplugin"}
    if keyvault_file:
        env["FAKE_KEYVAULT_FILE"] = str(keyvault_file)
    return env
