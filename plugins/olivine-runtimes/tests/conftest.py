"""Fixtures for olivine-runtimes tests: a folder shaped like a Hugging Face checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def fake_hf_model(tmp_path: Path) -> Path:
    """Passes under test only copy it; validation reads its config."""
    model = tmp_path / "models" / "fake"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"]}))
    (model / "model.safetensors").write_bytes(os.urandom(2048))
    return model
