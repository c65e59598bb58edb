"""``olivine doctor``: the environment report a user pastes into a bug, as text and as JSON.

Core reports Python, the platform and every plugin's requirements; runtime sections (torch, onnxruntime)
come from plugins through ``register_doctor_checks`` (olivine-runtimes' are tested there).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform

import pytest
from click.testing import CliRunner
from core_helpers import olivine_cli
from olivine.cli import cli
from olivine.cli.doctor_cmd import requirement_checks

ONLY_BUILTINS = {"OLIVINE_LOAD_PLUGINS": ""}


@pytest.fixture
def builtins_only(monkeypatch):
    """Other installed plugins may be mid-development; these tests look at core only."""
    monkeypatch.setenv("OLIVINE_LOAD_PLUGINS", "")
    from olivine.plugins import get_plugins

    get_plugins(reload=True)
    yield
    monkeypatch.delenv("OLIVINE_LOAD_PLUGINS")
    get_plugins(reload=True)


def test_core_alone_reports_python_platform_and_plugins_and_names_no_runtime(builtins_only):
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"olivine", "python", "platform", "plugins", "problems"}
    assert report["python"]["version"] == platform.python_version()
    [builtin] = report["plugins"]
    assert builtin["distribution"] == "olivine" and builtin["error"] is None
    assert {c["requirement"].split(">")[0] for c in builtin["requirements"]} >= {"pluggy", "click", "pydantic"}
    assert all(c["ok"] for c in builtin["requirements"])


def test_text_report_from_the_real_cli():
    result = olivine_cli("doctor", env=ONLY_BUILTINS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"python       {platform.python_version()}" in result.stdout
    assert not any(line.startswith(("torch", "runtimes")) for line in lines)
    assert lines[-1] == "no problems found"


CHECK_PLUGIN = """
from olivine import DoctorCheck, hookimpl


class License(DoctorCheck):
    \"\"\"The vendor's licence server.\"\"\"

    name = "license"

    def report(self):
        return {"server": "lic.example", "reachable": False}

    def render(self, section):
        return [f"license      {section['server']} unreachable"]

    def problems(self, section):
        return [] if section["reachable"] else ["the licence server lic.example cannot be reached; fix: set LIC_HOST"]


@hookimpl
def register_doctor_checks(register):
    register(License)
"""


def test_a_plugins_doctor_check_adds_its_section_and_problems(tmp_path):
    (tmp_path / "license_check_plugin.py").write_text(CHECK_PLUGIN)
    env = {"PYTHONPATH": str(tmp_path), "OLIVINE_LOAD_PLUGINS": "", "OLIVINE_PLUGIN_MODULES": "license_check_plugin"}

    as_json = olivine_cli("doctor", "--json", env=env)
    text = olivine_cli("doctor", env=env)

    assert as_json.returncode == 1 and text.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["license"] == {"server": "lic.example", "reachable": False}
    assert report["problems"] == ["the licence server lic.example cannot be reached; fix: set LIC_HOST"]
    assert "license      lic.example unreachable" in text.stdout.splitlines()
    assert "  - the licence server lic.example cannot be reached; fix: set LIC_HOST" in text.stdout.splitlines()


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
