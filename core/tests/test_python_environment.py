"""PythonEnvironment runs a pass in another interpreter through `olivine run-pass`."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest_paths import SUPPORT
from core_helpers import olivine_cli, touch_workflow, write_workflow
from olivine.engine import run


def test_pass_in_another_interpreter_gives_the_same_model(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a", "b"))
    cfg["systems"] = {"other": {"type": "PythonEnvironment",
                                "python_environment_path": str(Path(sys.executable).parent),
                                "environment_variables": {"PYTHONPATH": str(SUPPORT)}}}
    cfg["passes"]["b"]["host"] = "other"
    outcome = run(write_workflow(tmp_path, cfg), show_progress=False)
    assert (outcome.output_dir / "model" / "TOUCHED").read_text() == "a\nb\n"
    assert outcome.run["stages"][1]["report"]["notes"] == ["touched by b"]


def test_missing_interpreter_is_a_config_error(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), host="other")
    cfg["systems"] = {"other": {"type": "PythonEnvironment", "python_environment_path": str(tmp_path / "nowhere")}}
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, cfg)))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: systems.other.python_environment_path: no Python interpreter at "
                                     f"{tmp_path / 'nowhere'}")


def test_a_pass_in_another_interpreter_knows_its_key_in_the_workflow(tmp_path, fake_hf_model, test_plugins):
    """Errors raised while the pass runs over there name the user's key, as they would in this process."""
    cfg = touch_workflow(fake_hf_model, labels=("a", "b"))
    cfg["systems"] = {"other": {"type": "PythonEnvironment",
                                "python_environment_path": str(Path(sys.executable).parent),
                                "environment_variables": {"PYTHONPATH": str(SUPPORT)}}}
    cfg["passes"]["b"].update(host="other", fail=True)
    result = olivine_cli("run", str(write_workflow(tmp_path, cfg)), "--no-progress")
    assert result.returncode != 0
    assert "passes.b.fail: asked to fail while running" in result.stderr
