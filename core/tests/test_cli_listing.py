"""What is installed: passes, systems, plugins, as text and JSON."""

from __future__ import annotations

import importlib.metadata
import json

from core_helpers import olivine_cli


def test_passes_json_lists_formats_and_distribution(test_plugins):
    result = olivine_cli("passes", "--json")
    assert result.returncode == 0, result.stderr
    touch = next(row for row in json.loads(result.stdout) if row["name"] == "Touch")
    assert touch == {"name": "Touch", "description": "Copy a model folder and append the pass label to its TOUCHED "
                     "file.", "plugin": "olivine_testpasses", "distribution": "local", "version": "0",
                     "accepts": ["hf"], "produces": "hf"}


def test_passes_show_prints_config_schema(test_plugins):
    result = olivine_cli("passes", "show", "Touch")
    shown = json.loads(result.stdout)
    assert shown["accepts"] == ["hf"] and shown["produces"] == "hf"
    assert set(shown["config_schema"]["properties"]) == {"label", "sleep", "fail"}


def test_passes_show_unknown_name_suggests(test_plugins):
    result = olivine_cli("passes", "show", "Tuch")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: pass: unknown pass type 'Tuch' (did you mean Touch?)"


def test_systems_lists_builtins():
    result = olivine_cli("systems", "--json")
    names = {row["name"]: row["distribution"] for row in json.loads(result.stdout)}
    assert names["LocalSystem"] == "olivine" and names["PythonEnvironment"] == "olivine"


def test_plugins_json_shows_builtin_hooks():
    result = olivine_cli("plugins", "--json")
    builtin = next(p for p in json.loads(result.stdout) if p["name"] == "builtin")
    assert builtin["distribution"] == "olivine" and "register_systems" in builtin["hooks"]
    assert builtin["error"] is None


def test_python_m_olivine_and_version():
    result = olivine_cli("--version")
    assert result.returncode == 0 and importlib.metadata.version("olivine") in result.stdout
