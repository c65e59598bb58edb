"""Fixtures for the plugin's tests: a tiny Hugging Face-shaped folder and the real `olivine` CLI.

They need only olivine and this package installed (no torch): the pass under test copies files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    """A folder shaped like a Hugging Face checkpoint: a config.json and a weights file."""
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"]}))
    (model / "model.safetensors").write_bytes(b"\0" * 1024)
    return model


@pytest.fixture
def olivine():
    """Run the `olivine` command of this interpreter as a user would: ``olivine("passes", "--json")``."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "olivine", *args], capture_output=True, text=True, timeout=120,
            env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        )

    return run


@pytest.fixture
def workflow(tmp_path: Path, hf_folder: Path):
    """Write a workflow running ``passes`` on ``hf_folder``; its cache and output go to tmp_path."""

    def write(passes: dict) -> Path:
        config = {
            "input_model": {"type": "HfModel", "model_path": str(hf_folder)},
            "passes": passes,
            "engine": {"cache_dir": "cache", "output_dir": "out"},
        }
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    return write
