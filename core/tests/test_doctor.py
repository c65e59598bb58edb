"""``olivine doctor``: the environment report a user pastes into a bug, as text and as JSON."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from core_helpers import needs_distributions, olivine_cli
from olivine import providers
from olivine.cli import cli
from olivine.cli.doctor_cmd import doctor_report, requirement_checks

ONLY_BUILTINS = {"OLIVINE_LOAD_PLUGINS": ""}
FULL_SETUP = needs_distributions("torch", "bitsandbytes", "onnxruntime", "onnxruntime-genai")


@pytest.fixture
def builtins_only(monkeypatch):
    """Other installed plugins may be mid-development; these tests look at core only."""
    monkeypatch.setenv("OLIVINE_LOAD_PLUGINS", "")
    from olivine.plugins import get_plugins

    get_plugins(reload=True)
    yield
    monkeypatch.delenv("OLIVINE_LOAD_PLUGINS")
    get_plugins(reload=True)


@FULL_SETUP
def test_json_report_describes_this_environment(builtins_only):
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"olivine", "python", "platform", "torch", "bitsandbytes", "runtimes", "conflicts",
                           "plugins", "problems"}
    assert report["python"]["version"] == platform.python_version()
    assert report["torch"]["version"] == importlib.metadata.version("torch")
    assert report["torch"]["cuda_available"] is False
    assert report["bitsandbytes"]["version"] == importlib.metadata.version("bitsandbytes")
    import onnxruntime

    ort, genai = report["runtimes"]
    assert ort["distribution"] == "onnxruntime"
    assert ort["version"] == importlib.metadata.version("onnxruntime")
    assert ort["available_providers"] == onnxruntime.get_available_providers()
    assert genai["distribution"] == "onnxruntime-genai"
    assert genai["available_providers"] == ["CPUExecutionProvider"]
    assert report["conflicts"] == [] and report["problems"] == []
    [builtin] = report["plugins"]
    assert builtin["distribution"] == "olivine" and builtin["error"] is None
    assert {c["requirement"].split(">")[0] for c in builtin["requirements"]} >= {"pluggy", "click", "pydantic"}
    assert all(c["ok"] for c in builtin["requirements"])


@FULL_SETUP
def test_text_report_from_the_real_cli():
    result = olivine_cli("doctor", env=ONLY_BUILTINS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"python       {platform.python_version()}" in result.stdout
    assert any(line.startswith(f"  onnxruntime {importlib.metadata.version('onnxruntime')} (CPU)  providers: ")
               and "CPUExecutionProvider" in line for line in lines)
    assert any(line.startswith("  onnxruntime-genai ") for line in lines)
    assert "CUDA: not available (CPU-only build)" in result.stdout
    assert lines[-1] == "no problems found"


def test_simulated_conflict_is_reported_with_the_fix_and_exit_status_1(builtins_only, monkeypatch):
    """Simulated: installing onnxruntime-gpu beside onnxruntime would break this venv for every other
    test, so the metadata lookup answers for a made-up pair of flavours."""
    fake = {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.32.0"}
    monkeypatch.setattr(providers, "_version", fake.get)
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "  onnxruntime-gpu 1.32.0 (CUDA)  providers: " in result.output
    fix = "fix: pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
    assert any(line.startswith("  - onnxruntime and onnxruntime-gpu are installed together") and line.endswith(fix)
               for line in result.output.splitlines())


def test_report_accepts_a_distribution_list(builtins_only):
    """Simulated distribution list, as above: three onnxruntime flavours at once."""
    fake = [SimpleNamespace(metadata={"Name": name}, version="1.0")
            for name in ("onnxruntime", "onnxruntime-directml", "onnxruntime-qnn")]
    report = doctor_report(fake)
    [conflict] = report["conflicts"]
    assert conflict["distributions"] == ["onnxruntime", "onnxruntime-directml", "onnxruntime-qnn"]
    assert conflict["fix"].endswith("&& pip install onnxruntime-directml")
    assert [row["flavour"] for row in report["runtimes"]] == ["CPU", "DirectML", "QNN"]
    assert report["problems"][0].startswith("onnxruntime, onnxruntime-directml and onnxruntime-qnn are installed")


def write_plugin_distribution(root, requires: list[str], extras: list[str] = ()) -> None:
    """A real installed distribution (dist-info on sys.path) with an olivine entry point."""
    info = root / "olivine_needy-0.1.0.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", "Name: olivine-needy", "Version: 0.1.0",
             *(f"Provides-Extra: {extra}" for extra in extras)]
    (info / "METADATA").write_text("\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n")
    (info / "entry_points.txt").write_text("[olivine]\nneedy = olivine_needy_hooks\n")
    (root / "olivine_needy_hooks.py").write_text("")


def test_a_plugin_with_unmet_requirements_is_named(tmp_path):
    write_plugin_distribution(tmp_path, ["click>=1", "click>=999", "surely-not-installed-pkg>=1",
                                         'torch>=2; extra == "gpu"'])
    result = olivine_cli("doctor", "--json", env={"PYTHONPATH": str(tmp_path), "OLIVINE_LOAD_PLUGINS": "needy"})
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    needy = next(p for p in report["plugins"] if p["name"] == "needy")
    assert needy["distribution"] == "olivine-needy" and needy["error"] is None
    checks = {c["requirement"]: c for c in needy["requirements"]}
    assert list(checks) == ["click>=1", "click>=999", "surely-not-installed-pkg>=1"]  # extras-only skipped
    assert checks["click>=1"]["ok"] is True
    assert checks["click>=999"]["problem"] == (f"click {importlib.metadata.version('click')} is installed, "
                                               "click>=999 is required")
    assert checks["surely-not-installed-pkg>=1"]["problem"] == "surely-not-installed-pkg is not installed"
    assert "plugin needy (olivine-needy): surely-not-installed-pkg is not installed" in report["problems"]


def test_an_installed_requirement_that_does_not_import_is_named(tmp_path):
    write_plugin_distribution(tmp_path, ["broken-sdk>=1", "click>=1"])
    info = tmp_path / "broken_sdk-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-sdk\nVersion: 1.0\n")
    (info / "RECORD").write_text("broken_sdk/__init__.py,,\n")
    (tmp_path / "broken_sdk").mkdir()
    (tmp_path / "broken_sdk" / "__init__.py").write_text("raise ImportError('libvendor.so.3: cannot open')\n")
    result = olivine_cli("doctor", "--json", env={"PYTHONPATH": str(tmp_path), "OLIVINE_LOAD_PLUGINS": "needy"})
    report = json.loads(result.stdout)
    checks = {c["requirement"]: c for c in next(p for p in report["plugins"] if p["name"] == "needy")["requirements"]}
    assert checks["click>=1"]["ok"] is True
    assert checks["broken-sdk>=1"]["problem"] == (
        "broken-sdk is installed but `import broken_sdk` fails: ImportError: libvendor.so.3: cannot open")
    assert result.returncode == 1


def test_requirements_of_an_unknown_distribution_are_empty():
    assert requirement_checks("no-such-distribution-here") == []


def test_a_requirement_on_plain_onnxruntime_is_met_by_another_flavour(monkeypatch):
    """Simulated metadata (as above): onnxruntime-directml installed in place of onnxruntime, as on a
    Windows DirectML machine; a plugin asking for onnxruntime or onnxruntime-gpu."""
    from olivine.cli import doctor_cmd
    from packaging.requirements import Requirement

    fake = {"onnxruntime-directml": "1.32.0", "onnxruntime-genai-directml": "0.18.0"}
    monkeypatch.setattr(providers, "_version", fake.get)
    monkeypatch.setattr(doctor_cmd, "_version", fake.get)
    wanted = Requirement("onnxruntime-genai>=0.18,<0.19")
    met = doctor_cmd._requirement_check(wanted)
    assert met == {"requirement": str(wanted), "installed": "0.18.0", "ok": True,
                   "problem": None, "provided_by": "onnxruntime-genai-directml"}
    specific = doctor_cmd._requirement_check(Requirement("onnxruntime-gpu>=1.20"))
    assert specific["problem"] == "onnxruntime-gpu is not installed"


def test_a_plugin_that_leaves_the_runtime_to_extras_is_named_when_no_flavour_is_installed(tmp_path, monkeypatch):
    """olivine-modelbuilder's shape: onnxruntime-genai only through extras. The installed flavours are
    simulated (this environment has one); the plugin's metadata is a real dist-info on sys.path."""
    write_plugin_distribution(tmp_path, ["click>=1", 'onnxruntime-genai>=0.18; extra == "cpu"',
                                         'onnxruntime-genai-cuda>=0.18; extra == "cuda"',
                                         "onnxruntime-genai-directml>=0.18; sys_platform == 'nonesuch' and "
                                         'extra == "directml"'],
                              extras=["cpu", "cuda", "directml", "test"])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(providers, "_version", {"onnxruntime": "1.32.0"}.get)

    checks = requirement_checks("olivine-needy")

    assert [c["requirement"] for c in checks] == ["click>=1", "onnxruntime-genai from one of the extras cpu, cuda"]
    assert checks[1]["ok"] is False
    assert checks[1]["problem"] == ("no onnxruntime-genai flavour is installed: "
                                    "pip install 'olivine-needy[cpu]' (or [cuda])")

    monkeypatch.setattr(providers, "_version", {"onnxruntime-gpu": "1.32.0", "onnxruntime-genai-cuda": "0.18.0"}.get)
    assert [c["requirement"] for c in requirement_checks("olivine-needy")] == ["click>=1"]
