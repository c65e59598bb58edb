"""Fixtures: a tiny Phi-3 built for DirectML (int4) by onnxruntime-genai's builder, tone workflows, the CLI.

Building for DirectML needs no GPU and no Windows, so the model is real on every platform.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from olivine.testing import tiny_phi3

sys.path.insert(0, str(Path(__file__).parent))
from directml_workflows import accuracy_metric, tone_data_config  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def dml_model(tmp_path_factory) -> Path:
    """``tiny_phi3()`` as an int4 onnxruntime-genai model for the dml target."""
    out = tmp_path_factory.mktemp("dml-int4") / "model"
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(tiny_phi3()), "-o", str(out),
               "-p", "int4", "-e", "dml", "-c", str(out.parent / "builder-cache")]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    return out


@pytest.fixture
def write_workflow(tmp_path: Path):
    """Write a workflow evaluating ``model`` (an ONNX folder or an HF folder with passes) with accuracy."""

    def write(model: Path, systems: dict, target: str | None = None, host: str | None = None,
              passes: dict | None = None, model_type: str = "ONNXModel", evaluate: bool = True) -> Path:
        config = {
            "input_model": {"type": model_type, "model_path": str(model)},
            "systems": systems,
            "data_configs": [tone_data_config()],
            "evaluators": {"tone": {"metrics": [accuracy_metric()]}},
            "passes": passes or {},
            "engine": {"host": host, "target": target, "evaluator": "tone" if evaluate else None,
                       "cache_dir": str(tmp_path / "cache"), "output_dir": str(tmp_path / "out")},
        }
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    return write


@pytest.fixture
def olivine():
    """Run the `olivine` command of this interpreter as a user would."""

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        return subprocess.run([sys.executable, "-m", "olivine", *args], capture_output=True, text=True,
                              timeout=300, env=env)

    return run
