"""Shared fixtures for core tests: a fake HF model folder, the test plugin, a CLI runner."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))


@pytest.fixture
def fake_hf_model(tmp_path: Path) -> Path:
    """A folder shaped like a Hugging Face checkpoint; passes under test only copy it."""
    model = tmp_path / "models" / "fake"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"]}))
    (model / "model.safetensors").write_bytes(os.urandom(2048))
    return model


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
