"""The DirectML system: found after install, refused with a clear reason where DirectML cannot run,
and with ``fallback_to_cpu`` a DirectML-built model evaluated on CPU, said in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from directml_workflows import accuracy_metric, tone_data_config
from olivine import Accelerator, ConfigError, ConfigErrors, DataConfig, EvalContext, MetricConfig, ModelRef, get_plugins
from olivine import run_workflow as run
from olivine import validate_workflow as validate
from olivine_directml.system import DirectML
from olivine_runtimes.providers import describe, installed, platform_name

not_windows = pytest.mark.skipif(sys.platform == "win32", reason="checks the refusal on a machine without DirectML")


def directml(**config) -> dict:
    return {"type": "DirectML", **config}


def test_listed_by_olivine_systems_without_importing_onnxruntime():
    code = ("import sys, json; from olivine import get_plugins; p = get_plugins(); "
            "e = p.systems.entry('DirectML'); print(json.dumps([e.distribution, sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('onnxruntime', 'onnxruntime_genai', 'torch'))]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["olivine-directml", []]


@not_windows
def test_refused_at_validation_naming_platform_and_flavours(tmp_path, write_workflow, dml_model, olivine):
    path = write_workflow(dml_model, {"dml": directml()}, target="dml")
    result = olivine("config", "validate", str(path))
    assert result.returncode == 2
    items = installed()
    expected = (f"error: systems.dml: DirectML runs on Windows with onnxruntime-directml and "
                f"onnxruntime-genai-directml; this machine is {platform_name()} with {describe(items)} and "
                f"{describe(items, 'onnxruntime_genai')} (set fallback_to_cpu: true to build for DirectML here "
                f"and evaluate on CPU, or run the workflow on a Windows machine)")
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [expected]


@not_windows
def test_the_message_on_this_linux_machine(tmp_path, write_workflow, dml_model):
    """The sentence a user on this (Linux, CPU onnxruntime) machine reads, for a system that evaluates nothing."""
    if platform_name() != "Linux" or describe() != "onnxruntime (CPU)":
        pytest.skip("the literal sentence is for Linux with CPU onnxruntime")
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(dml_model, {"dml": directml()}, target="dml", evaluate=False))
    assert caught.value.errors[0].message == ("DirectML runs on Windows with onnxruntime-directml; "
                                              "this machine is Linux with onnxruntime (CPU)")


@not_windows
def test_loading_a_dml_model_here_fails_which_is_why_validation_refuses(dml_model):
    import onnxruntime_genai as og

    with pytest.raises(RuntimeError, match="DML provider requested, but the installed GenAI has not been built"):
        og.Model(str(dml_model))


@not_windows
def test_fallback_to_cpu_evaluates_the_dml_model_and_the_report_says_so(tmp_path, write_workflow, dml_model,
                                                                        olivine):
    genai_config = json.loads((dml_model / "genai_config.json").read_text())
    assert genai_config["model"]["decoder"]["session_options"]["provider_options"] == [
        {"dml": {"enable_graph_capture": "1"}}]
    path = write_workflow(dml_model, {"dml": directml(fallback_to_cpu=True)}, target="dml")
    result = olivine("run", "--config", str(path), "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "run.json").read_text())
    [stage] = report["stages"]
    metrics = stage["metrics"]["accuracy"]
    assert 0.0 <= metrics["accuracy_score"] <= 1.0
    [note] = [n for n in metrics["_notes"] if "fallback_to_cpu" in n]
    assert note.startswith("accuracy: evaluated on CPU because fallback_to_cpu is set (DirectML runs on Windows")
    # the model folder itself is untouched: it still names DirectML for the machine that has it
    assert json.loads((dml_model / "genai_config.json").read_text()) == genai_config


@not_windows
def test_fallback_scores_what_a_cpu_evaluation_of_the_same_model_scores(tmp_path, write_workflow, dml_model):
    """The fallback is an ordinary CPU evaluation: LocalSystem with the evaluator's clear_providers agrees."""
    fallback = run(write_workflow(dml_model, {"dml": directml(fallback_to_cpu=True)}, target="dml"),
                   show_progress=False)
    local = write_workflow(dml_model, {"local": {"type": "LocalSystem"}}, target="local")
    config = json.loads(local.read_text())
    config["evaluators"]["tone"]["metrics"][0]["user_config"]["clear_providers"] = True
    config["engine"]["cache_dir"] = str(tmp_path / "cache-local")
    local.write_text(json.dumps(config))
    plain = run(local, show_progress=False)
    score = fallback.run["stages"][0]["metrics"]["accuracy"]["accuracy_score"]
    assert score == plain.run["stages"][0]["metrics"]["accuracy"]["accuracy_score"]


@not_windows
def test_modelbuilder_cross_builds_for_directml_and_the_fallback_evaluates_it(tmp_path, write_workflow):
    """The whole Linux story: ModelBuilder on the DirectML system targets dml (its accelerator), the
    model keeps DirectML's options for Windows, and the evaluation runs on CPU, reported."""
    pytest.importorskip("olivine_modelbuilder", reason="needs the olivine-modelbuilder plugin")
    from olivine.testing import tiny_phi3

    path = write_workflow(tiny_phi3(), {"dml": directml(fallback_to_cpu=True)}, target="dml", host="dml",
                          passes={"builder": {"type": "ModelBuilder", "precision": "int4"}}, model_type="HfModel")
    config = json.loads(path.read_text())
    config["engine"]["evaluate_input_model"] = False
    path.write_text(json.dumps(config))
    outcome = run(path, show_progress=False)
    [stage] = outcome.run["stages"]
    assert stage["report"]["execution_provider"] == "dml"
    genai_config = json.loads((outcome.model.path / "genai_config.json").read_text())
    assert genai_config["model"]["decoder"]["session_options"]["provider_options"] == [
        {"dml": {"enable_graph_capture": "1"}}]
    notes = stage["metrics"]["accuracy"]["_notes"]
    assert any(note.startswith("accuracy: evaluated on CPU because fallback_to_cpu is set") for note in notes)


@not_windows
def test_without_fallback_evaluate_refuses_instead_of_crashing(tmp_path, dml_model):
    """Called directly (validation would have refused first): a ConfigError, not onnxruntime-genai's RuntimeError."""
    system = DirectML(DirectML.parse_config({}, "systems.dml"), key="dml")
    evaluator = get_plugins().evaluators.get("accuracy")()
    ctx = EvalContext(metric=MetricConfig.model_validate(accuracy_metric()), workflow_dir=tmp_path,
                      data_configs={"tone_test": DataConfig.model_validate(tone_data_config())},
                      accelerator=system.accelerator(), show_progress=False)
    with pytest.raises(ConfigError, match="DirectML runs on Windows with onnxruntime-directml and "
                                          "onnxruntime-genai-directml"):
        system.evaluate(evaluator, ModelRef(format="onnx-genai", path=dml_model), ctx)


def test_accelerator_carries_the_adapter_index():
    system = DirectML(DirectML.parse_config({"device_id": 1}, "systems.dml"), key="dml")
    assert system.accelerator() == Accelerator(device="gpu", execution_provider="DmlExecutionProvider", device_id=1)
    cpu = DirectML(DirectML.parse_config({"accelerators": ["cpu"]}, "systems.dml"), key="dml")
    assert cpu.accelerator() == Accelerator(device="cpu", execution_provider="CPUExecutionProvider")
    gpu = DirectML(DirectML.parse_config({"accelerators": [{"device": "gpu"}]}, "systems.dml"), key="dml")
    assert gpu.accelerator().execution_provider == "DmlExecutionProvider"


@pytest.mark.parametrize(("config", "line"), [
    ({"accelerators": [{"device": "gpu", "execution_providers": ["CUDAExecutionProvider"]}]},
     "systems.dml.accelerators: DirectML runs DmlExecutionProvider and CPUExecutionProvider, not "
     "CUDAExecutionProvider (use LocalSystem or PythonEnvironment for other providers)"),
    ({"accelerators": ["npu"]}, "systems.dml.accelerators: DirectML has devices gpu and cpu, not 'npu'"),
    ({"device_id": -1}, "systems.dml.device_id"),
    ({"fallback_to_cup": True}, "did you mean fallback_to_cpu?"),
])
def test_config_mistakes_are_named(config, line):
    with pytest.raises(ConfigErrors) as caught:
        DirectML.parse_config(config, "systems.dml")
    assert line in str(caught.value)


@pytest.mark.windows
@pytest.mark.skipif(sys.platform != "win32", reason="needs Windows with a DirectX 12 GPU and onnxruntime-directml")
def test_evaluates_on_the_directml_gpu(tmp_path, write_workflow, dml_model):
    outcome = run(write_workflow(dml_model, {"dml": directml()}, target="dml"), show_progress=False)
    metrics = outcome.run["stages"][0]["metrics"]["accuracy"]
    assert 0.0 <= metrics["accuracy_score"] <= 1.0
    assert not any("fallback_to_cpu" in note for note in metrics.get("_notes", []))


@pytest.fixture
def windows_with(monkeypatch):
    """Simulated: no Windows machine here, so the platform name and the installed distributions are
    made up; everything that reads them (messages, fixes, the check) runs as it would there."""
    from olivine_runtimes import providers

    def pretend(*distributions: str) -> None:
        monkeypatch.setattr(providers, "platform_name", lambda: "Windows")
        monkeypatch.setattr(providers, "_version", {name: "1.0" for name in distributions}.get)

    return pretend


def check(config: dict, formats: tuple[str, ...]) -> None:
    from olivine import ValidationContext

    system = DirectML(DirectML.parse_config(config, "systems.dml"), key="dml")
    system.check(ValidationContext(path="", workflow_dir=Path("."), evaluated_formats=formats))


def test_windows_with_the_directml_flavours_passes(windows_with):
    windows_with("onnxruntime-directml", "onnxruntime-genai-directml")
    check({}, ("onnx-genai",))


def test_windows_with_cpu_onnxruntime_gets_the_pip_command(windows_with):
    windows_with("onnxruntime")
    with pytest.raises(ConfigError) as caught:
        check({}, ())
    assert caught.value.message == ("DirectML runs on Windows with onnxruntime-directml; "
                                    "this machine is Windows with onnxruntime (CPU)")
    assert caught.value.hint == "pip uninstall -y onnxruntime && pip install onnxruntime-directml"


def test_windows_missing_only_the_genai_flavour(windows_with):
    windows_with("onnxruntime-directml", "onnxruntime-genai")
    check({}, ())  # evaluating nothing, onnxruntime-directml is enough
    with pytest.raises(ConfigError) as caught:
        check({}, ("onnx-genai",))
    assert caught.value.message.endswith("this machine is Windows with onnxruntime-directml (DirectML) and "
                                         "onnxruntime-genai (CPU)")
    assert caught.value.hint == ("pip uninstall -y onnxruntime-genai && pip install onnxruntime-directml "
                                 "onnxruntime-genai-directml")


def test_windows_with_conflicting_flavours_gets_the_conflict_fix(windows_with):
    """The conflict sends the check to onnxruntime itself (the real CPU build here: no DirectML)."""
    windows_with("onnxruntime", "onnxruntime-directml")
    with pytest.raises(ConfigError) as caught:
        check({}, ())
    assert caught.value.message.endswith("this machine is Windows with onnxruntime and onnxruntime-directml "
                                         "(conflicting)")
    assert caught.value.hint == ("run: pip uninstall -y onnxruntime onnxruntime-directml "
                                 "&& pip install onnxruntime-directml")


def test_fallback_needs_a_cpu_runtime_at_least(windows_with):
    windows_with()
    with pytest.raises(ConfigError) as caught:
        check({"fallback_to_cpu": True}, ("onnx-genai",))
    assert caught.value.path == "systems.dml.fallback_to_cpu"
    assert caught.value.message == ("cannot evaluate on CPU either: CPUExecutionProvider needs onnxruntime, "
                                    "which is not installed")
