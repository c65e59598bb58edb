"""Shared fixtures for core tests: a fake HF model folder, the test plugin, a CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from olivine.testing.fixtures import fake_hf_model  # noqa: F401  (a fixture for every core test)

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))


@pytest.fixture
def test_plugins(monkeypatch):
    """Register the core test passes for in-process calls and for CLI subprocesses."""
    monkeypatch.setenv("OLIVINE_PLUGIN_MODULES", "olivine_testpasses")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(SUPPORT))
    from olivine.plugins import get_plugins

    plugins = get_plugins(reload=True)
    yield plugins
    monkeypatch.delenv("OLIVINE_PLUGIN_MODULES")
    get_plugins(reload=True)
