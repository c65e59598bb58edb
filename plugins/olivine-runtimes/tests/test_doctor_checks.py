"""The ``olivine doctor`` sections olivine-runtimes contributes: torch, bitsandbytes, onnxruntime flavours.

The real report comes from the CLI with this plugin loaded; simulated environments (flavours that cannot
be installed side by side here) go through the check classes with stand-in distributions.
"""

from __future__ import annotations

import importlib.metadata
import json
from types import SimpleNamespace

from olivine.testing import needs_distributions, run_olivine
from olivine_runtimes.doctor import OnnxRuntimeCheck
from packaging.requirements import Requirement

FULL_SETUP = needs_distributions("torch", "bitsandbytes", "onnxruntime", "onnxruntime-genai")
ONLY_RUNTIMES = {"OLIVINE_LOAD_PLUGINS": "runtimes"}


def dist(name: str, version: str = "1.0"):
    """A stand-in for an importlib.metadata distribution (only its name and version are read)."""
    return SimpleNamespace(metadata={"Name": name}, version=version)


@FULL_SETUP
def test_json_report_describes_this_environment():
    result = run_olivine("doctor", "--json", env=ONLY_RUNTIMES)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"torch", "bitsandbytes", "runtimes"} <= set(report)
    assert report["torch"]["version"] == importlib.metadata.version("torch")
    assert report["torch"]["cuda_available"] is False
    assert report["bitsandbytes"]["version"] == importlib.metadata.version("bitsandbytes")
    import onnxruntime

    ort, genai = report["runtimes"]["installed"]
    assert ort["distribution"] == "onnxruntime"
    assert ort["version"] == importlib.metadata.version("onnxruntime")
    assert ort["available_providers"] == onnxruntime.get_available_providers()
    assert genai["distribution"] == "onnxruntime-genai"
    assert genai["available_providers"] == ["CPUExecutionProvider"]
    assert report["runtimes"]["conflicts"] == [] and report["problems"] == []


@FULL_SETUP
def test_text_report_from_the_real_cli():
    result = run_olivine("doctor", env=ONLY_RUNTIMES)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"  onnxruntime {importlib.metadata.version('onnxruntime')} (CPU)  providers: ")
               and "CPUExecutionProvider" in line for line in lines)
    assert any(line.startswith("  onnxruntime-genai ") for line in lines)
    assert "CUDA: not available (CPU-only build)" in result.stdout
    assert lines[-1] == "no problems found"


def test_simulated_conflict_is_reported_with_the_fix():
    """Installing onnxruntime-gpu beside onnxruntime would break this venv for every other test."""
    check = OnnxRuntimeCheck([dist("onnxruntime", "1.32.0"), dist("onnxruntime-gpu", "1.32.0")])
    section = check.report()
    assert [row["distribution"] for row in section["installed"]] == ["onnxruntime", "onnxruntime-gpu"]
    assert any(line.startswith("  onnxruntime-gpu 1.32.0 (CUDA)") for line in check.render(section))
    fix = "fix: pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
    [problem] = check.problems(section)
    assert problem.startswith("onnxruntime and onnxruntime-gpu are installed together") and problem.endswith(fix)


def test_three_flavours_at_once_keep_the_accelerated_one():
    check = OnnxRuntimeCheck([dist(name) for name in ("onnxruntime", "onnxruntime-directml", "onnxruntime-qnn")])
    section = check.report()
    [conflict] = section["conflicts"]
    assert conflict["distributions"] == ["onnxruntime", "onnxruntime-directml", "onnxruntime-qnn"]
    assert conflict["fix"].endswith("&& pip install onnxruntime-directml")
    assert [row["flavour"] for row in section["installed"]] == ["CPU", "DirectML", "QNN"]
    assert check.problems(section)[0].startswith("onnxruntime, onnxruntime-directml and onnxruntime-qnn are")


def test_a_requirement_on_the_plain_flavour_is_met_by_another_flavour():
    """As on a Windows DirectML machine: onnxruntime-genai-directml installed in place of onnxruntime-genai."""
    check = OnnxRuntimeCheck([dist("onnxruntime-directml", "1.32.0"), dist("onnxruntime-genai-directml", "0.18.0")])
    assert check.installed_as("onnxruntime-genai") == ("onnxruntime-genai-directml", "0.18.0")
    assert check.installed_as("onnxruntime_genai") == ("onnxruntime-genai-directml", "0.18.0")
    assert check.installed_as("onnxruntime-gpu") is None  # a specific flavour asks for itself
    assert check.installed_as("click") is None


def test_a_plugin_that_leaves_the_runtime_to_extras_is_named_when_no_flavour_is_installed():
    """olivine-modelbuilder's shape: onnxruntime-genai only through extras."""
    requires = [Requirement(r) for r in (
        "click>=1", 'onnxruntime-genai>=0.18; extra == "cpu"', 'onnxruntime-genai-cuda>=0.18; extra == "cuda"',
        "onnxruntime-genai-directml>=0.18; sys_platform == 'nonesuch' and extra == \"directml\"")]
    extras = ["cpu", "cuda", "directml", "test"]

    [check] = OnnxRuntimeCheck([dist("onnxruntime", "1.32.0")]).extra_requirement_checks(
        "olivine-needy", requires, extras)

    assert check["requirement"] == "onnxruntime-genai from one of the extras cpu, cuda"
    assert check["ok"] is False
    assert check["problem"] == "no onnxruntime-genai flavour is installed: pip install 'olivine-needy[cpu]' (or [cuda])"
    with_cuda = OnnxRuntimeCheck([dist("onnxruntime-gpu", "1.32.0"), dist("onnxruntime-genai-cuda", "0.18.0")])
    assert with_cuda.extra_requirement_checks("olivine-needy", requires, extras) == []

