"""Execution-provider health: installed flavours, conflicts, providers, and the check before any work.

Moved from core with the flavour tables; the validation checks go through the onnx-genai runtime this
package registers."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace

import pytest
from olivine import ConfigErrors, Evaluator, Pass, get_plugins
from olivine import validate_workflow as validate
from olivine.testing import needs_distributions, write_workflow
from olivine.testing import run_olivine as olivine_cli
from olivine_runtimes import providers


def dist(name: str, version: str):
    """A stand-in for an importlib.metadata distribution (only its name and version are read)."""
    return SimpleNamespace(metadata={"Name": name}, version=version)


# What the runtimes answer depends on which flavours this environment has: the full setup's CPU ones.
pytestmark = needs_distributions("onnxruntime", "onnxruntime-genai")


def test_installed_flavours_are_read_from_metadata_without_importing_onnxruntime():
    code = ("import sys; from olivine_runtimes import providers as p; items = p.installed(); "
            "print([(i.name, i.version) for i in items]); print(p.conflicts(items)); "
            "print(p.provider_problem('CUDAExecutionProvider', items=items).message); "
            "print('onnxruntime' in sys.modules, 'onnxruntime_genai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    expected = [("onnxruntime", importlib.metadata.version("onnxruntime")),
                ("onnxruntime-genai", importlib.metadata.version("onnxruntime-genai"))]
    assert out[0] == str(expected)
    assert out[1] == "[]"
    assert "onnxruntime-gpu" in out[2]
    assert out[3] == "False False"


@pytest.mark.parametrize(("provider", "namespace", "package"), [
    ("CPUExecutionProvider", providers.ORT, "onnxruntime"),
    ("CUDAExecutionProvider", providers.ORT, "onnxruntime-gpu"),
    ("TensorrtExecutionProvider", providers.ORT, "onnxruntime-gpu"),
    ("DmlExecutionProvider", providers.ORT, "onnxruntime-directml"),
    ("OpenVINOExecutionProvider", providers.ORT, "onnxruntime-openvino"),
    ("QNNExecutionProvider", providers.ORT, "onnxruntime-qnn"),
    ("CPUExecutionProvider", providers.GENAI, "onnxruntime-genai"),
    ("CUDAExecutionProvider", providers.GENAI, "onnxruntime-genai-cuda"),
    ("DmlExecutionProvider", providers.GENAI, "onnxruntime-genai-directml"),
])
def test_each_provider_names_the_package_that_brings_it(provider, namespace, package):
    assert providers.package_for(provider, namespace) == package


def test_this_environment_has_cpu_onnxruntime_and_genai():
    items = providers.installed()
    assert providers.describe(items) == "onnxruntime (CPU)"
    assert providers.describe(items, providers.GENAI) == "onnxruntime-genai (CPU)"
    assert providers.provider_problem("CPUExecutionProvider", providers.ORT, items) is None
    assert providers.provider_problem("CPUExecutionProvider", providers.GENAI, items) is None


def test_available_providers_are_what_onnxruntime_reports():
    import onnxruntime

    assert providers.available_providers() == onnxruntime.get_available_providers()
    assert providers.available_providers(providers.GENAI) == ["CPUExecutionProvider"]


def test_missing_provider_names_the_package_and_the_installed_flavour():
    problem = providers.provider_problem("CUDAExecutionProvider", providers.GENAI)
    assert problem.message == ("CUDAExecutionProvider is not available: it comes with onnxruntime-genai-cuda, "
                               "and this environment has onnxruntime-genai (CPU)")
    assert problem.hint.startswith("pip uninstall -y onnxruntime-genai && pip install onnxruntime-genai-cuda")
    assert "PythonEnvironment" in problem.hint


def test_a_misspelled_provider_gets_a_suggestion():
    problem = providers.provider_problem("CUDAExecutionprovider")
    assert problem.message == "unknown execution provider 'CUDAExecutionprovider'"
    assert problem.hint == "did you mean CUDAExecutionProvider?"


@pytest.mark.skipif(sys.platform == "win32", reason="checks the message on a machine without DirectML")
def test_directml_provider_is_windows_only():
    problem = providers.provider_problem("DmlExecutionProvider", providers.GENAI)
    assert problem.message.startswith("DmlExecutionProvider runs on Windows only; this machine is ")


def test_simulated_conflict_is_named_with_the_fix():
    """Simulated: installing two onnxruntime flavours here would break the shared venv, so the
    distribution list is made up; the detection reads nothing else."""
    items = providers.installed([dist("onnxruntime", "1.32.0"), dist("onnxruntime_gpu", "1.32.0"),
                                 dist("onnxruntime-genai-cuda", "0.18.0"), dist("numpy", "2.0")])
    assert [i.name for i in items] == ["onnxruntime", "onnxruntime-gpu", "onnxruntime-genai-cuda"]
    [conflict] = providers.conflicts(items)
    assert conflict.distributions == ("onnxruntime", "onnxruntime-gpu")
    assert conflict.keep == "onnxruntime-gpu"
    assert conflict.fix == "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
    assert "share the import package 'onnxruntime'" in conflict.message
    assert conflict.message.endswith("(keep onnxruntime-gpu: the installed onnxruntime-genai-cuda is built against it)")
    assert providers.describe(items) == "onnxruntime and onnxruntime-gpu (conflicting)"


def test_simulated_genai_conflict_keeps_the_accelerated_flavour():
    """Simulated distribution list (see above): two onnxruntime-genai flavours."""
    items = providers.installed([dist("onnxruntime-genai", "0.18.0"), dist("onnxruntime-genai-directml", "0.18.0"),
                                 dist("onnxruntime-directml", "1.32.0")])
    [conflict] = providers.conflicts(items)
    assert conflict.namespace == "onnxruntime_genai"
    assert conflict.fix == ("pip uninstall -y onnxruntime-genai onnxruntime-genai-directml "
                            "&& pip install onnxruntime-genai-directml")


# --- the check before any work ------------------------------------------------------------------

class BuildOnnxGenai(Pass):
    """Declares an hf -> onnx-genai step; these tests only validate workflows, nothing runs."""

    name = "BuildOnnxGenaiForTest"
    accepts = ("hf",)
    produces = "onnx-genai"


class CountTokens(Evaluator):
    """A metric type that reads onnx-genai models; only validated here."""

    name = "count_tokens_for_test"
    accepts = ("onnx-genai",)


@pytest.fixture
def plugins():
    loaded = get_plugins(reload=True)
    loaded.passes.add(BuildOnnxGenai, "test", "test", "0")
    loaded.evaluators.add(CountTokens, "test", "test", "0")
    yield loaded
    get_plugins(reload=True)


def build_workflow(model, systems=None, host=None, target=None, evaluate=True) -> dict:
    config = {
        "input_model": {"type": "HfModel", "model_path": str(model)},
        "systems": systems or {},
        "evaluators": {"tokens": {"metrics": [{"name": "tokens", "type": "count_tokens_for_test"}]}},
        "passes": {"build": {"type": "BuildOnnxGenaiForTest"}},
        "engine": {"host": host, "target": target, "evaluator": "tokens" if evaluate else None},
    }
    return config


def gpu_system(*providers_: str) -> dict:
    return {"type": "LocalSystem", "accelerators": [{"device": "gpu", "execution_providers": list(providers_)}]}


def test_target_evaluating_onnx_genai_needs_its_providers(tmp_path, fake_hf_model, plugins):
    config = build_workflow(fake_hf_model, {"gpu": gpu_system("CUDAExecutionProvider")}, target="gpu")
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config), plugins)
    [error] = caught.value.errors
    assert error.path == "systems.gpu.accelerators[0].execution_providers[0]"
    assert "it comes with onnxruntime-genai-cuda" in error.message


def test_a_device_without_providers_is_checked_for_its_default(tmp_path, fake_hf_model, plugins):
    config = build_workflow(fake_hf_model, {"gpu": {"type": "LocalSystem", "accelerators": ["gpu"]}}, target="gpu")
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config), plugins)
    assert caught.value.errors[0].path == "systems.gpu.accelerators[0].device"


def test_building_for_a_provider_on_the_host_needs_nothing_of_it(tmp_path, fake_hf_model, plugins):
    """A ModelBuilder-style cross-build for DirectML from Linux: only the evaluating target is checked."""
    config = build_workflow(fake_hf_model, {"dml_build": gpu_system("DmlExecutionProvider")}, host="dml_build")
    plan = validate(write_workflow(tmp_path, config), plugins)
    assert plan.host.accelerator().execution_provider == "DmlExecutionProvider"
    assert plan.target.accelerator().execution_provider == "CPUExecutionProvider"


def test_a_target_that_evaluates_nothing_is_not_checked(tmp_path, fake_hf_model, plugins):
    config = build_workflow(fake_hf_model, {"gpu": gpu_system("CUDAExecutionProvider")}, target="gpu",
                            evaluate=False)
    validate(write_workflow(tmp_path, config), plugins)


def test_cpu_target_evaluating_onnx_genai_is_valid_here(tmp_path, fake_hf_model, plugins):
    config = build_workflow(fake_hf_model, {"cpu": gpu_system("CPUExecutionProvider")}, target="cpu")
    validate(write_workflow(tmp_path, config), plugins)


PLUGIN_SOURCE = """
from olivine import Evaluator, Pass, hookimpl


class BuildOnnxGenai(Pass):
    \"\"\"Declares an hf -> onnx-genai step (validated only).\"\"\"

    name = "BuildOnnxGenaiForTest"
    produces = "onnx-genai"


class CountTokens(Evaluator):
    \"\"\"Reads onnx-genai models (validated only).\"\"\"

    name = "count_tokens_for_test"
    accepts = ("onnx-genai",)


@hookimpl
def register_passes(register):
    register(BuildOnnxGenai)


@hookimpl
def register_evaluators(register):
    register(CountTokens)
"""


def test_cli_reports_the_missing_provider_in_one_line(tmp_path, fake_hf_model):
    (tmp_path / "provider_test_plugin.py").write_text(PLUGIN_SOURCE)
    config = build_workflow(fake_hf_model, {"gpu": gpu_system("CUDAExecutionProvider")}, target="gpu")
    env = {"OLIVINE_PLUGIN_MODULES": "provider_test_plugin", "PYTHONPATH": str(tmp_path)}
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, config)), env=env)
    assert result.returncode == 2, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: systems.gpu.accelerators[0].execution_providers[0]: CUDAExecutionProvider is not available: "
        "it comes with onnxruntime-genai-cuda, and this environment has onnxruntime-genai (CPU) "
        "(pip uninstall -y onnxruntime-genai && pip install onnxruntime-genai-cuda, or keep "
        "onnxruntime-genai-cuda in its own venv and use a PythonEnvironment system)"]


# --- a second onnxruntime flavour in its own venv: examples/python-environment ----------------------

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "python-environment" / "workflow.json"


@pytest.fixture(scope="module")
def cpu_int4_model(tmp_path_factory) -> Path:
    """The tiny Phi-3 as an int4 onnxruntime-genai model, built by onnxruntime-genai's own builder."""
    from olivine.testing import tiny_phi3

    out = tmp_path_factory.mktemp("cpu-int4") / "model"
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(tiny_phi3()), "-o", str(out),
               "-p", "int4", "-e", "cpu", "-c", str(out.parent / "builder-cache")]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ,
                                                                                     "HF_HUB_OFFLINE": "1"})
    assert built.returncode == 0, built.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def second_venv(tmp_path_factory) -> Path:
    """A real second venv (its own interpreter) that logs each start to $OLIVINE_TEST_INTERPRETER_LOG.

    It borrows this venv's packages through a .pth line instead of installing its own: a second
    onnxruntime flavour (onnxruntime-gpu, -directml) cannot be installed in this sandbox, and copying
    torch would take minutes. The interpreter, `olivine run-pass` and the provider check in it are real.
    """
    venv = tmp_path_factory.mktemp("second") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site_dir = Path(subprocess.run([str(_venv_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                    "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    shared = sysconfig.get_paths()["purelib"]
    (site_dir / "borrowed_packages.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    (site_dir / "log_interpreter.pth").write_text(
        "import os, sys; log = os.environ.get('OLIVINE_TEST_INTERPRETER_LOG'); "
        "log and open(log, 'a').write(sys.executable + '\\n')\n")
    return venv


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def example_workflow(tmp_path: Path, model: Path, venv: Path, accelerators: list | None = None) -> Path:
    """examples/python-environment/workflow.json pointed at the tiny model, the tone data and the venv."""
    from olivine.testing import tone_data_dir

    config = json.loads(EXAMPLE.read_text())
    config["input_model"]["model_path"] = str(model)
    config["data_configs"][0]["load_dataset_config"]["data_files"] = str(tone_data_dir() / "test.jsonl")
    config["evaluators"]["tone"]["metrics"][0]["user_config"]["max_samples"] = 8
    system = config["systems"]["cuda_env"]
    system["python_environment_path"] = str(_venv_python(venv).parent)
    if accelerators is not None:
        system["accelerators"] = accelerators
    config["engine"].update(cache_dir=str(tmp_path / "cache"), output_dir=str(tmp_path / "out"))
    return write_workflow(tmp_path, config)


@pytest.fixture
def interpreter_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "interpreters.log"
    monkeypatch.setenv("OLIVINE_TEST_INTERPRETER_LOG", str(log))
    return log


def test_example_checks_cuda_inside_the_second_venv(tmp_path, cpu_int4_model, second_venv, interpreter_log):
    """As shipped, the example asks the venv for CUDA: here it has CPU onnxruntime-genai, and says so."""
    with pytest.raises(ConfigErrors) as caught:
        validate(example_workflow(tmp_path, cpu_int4_model, second_venv))
    [error] = caught.value.errors
    assert error.path == "systems.cuda_env.accelerators[0].execution_providers[0]"
    assert error.message == ("CUDAExecutionProvider is not available: it comes with onnxruntime-genai-cuda, "
                             "and this environment has onnxruntime-genai (CPU)")
    assert str(_venv_python(second_venv)) in interpreter_log.read_text().splitlines()


def test_example_evaluates_in_the_second_venv(tmp_path, cpu_int4_model, second_venv, interpreter_log):
    from olivine import run_workflow as run

    path = example_workflow(tmp_path, cpu_int4_model, second_venv, accelerators=["cpu"])
    outcome = run(path, show_progress=False)
    [stage] = outcome.run["stages"]
    assert 0.0 <= stage["metrics"]["accuracy"]["accuracy_score"] <= 1.0
    assert any(note.endswith("/8 correct on onnx-genai") for note in stage["metrics"]["accuracy"]["_notes"])
    started = interpreter_log.read_text().splitlines()
    assert started.count(str(_venv_python(second_venv))) >= 2  # the provider check, then run-pass
