"""pytest fixtures for plugin test suites: import them into a conftest.py.

    from olivine.testing.fixtures import one_torch_thread, tiny  # noqa: F401

``one_torch_thread`` (autouse) keeps a suite to one intra-op thread so suites can share CPUs;
``tiny`` is the cached tiny Phi-3 folder; ``fake_hf_model`` a folder shaped like a Hugging Face checkpoint
(config and random bytes as weights) for tests that validate or copy a model without loading it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny() -> Path:
    from olivine.testing import tiny_phi3

    return tiny_phi3()


@pytest.fixture
def fake_hf_model(tmp_path: Path) -> Path:
    """A Phi-3-shaped Hugging Face folder that validation reads and passes copy; it does not load."""
    model = tmp_path / "models" / "fake"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"]}))
    (model / "model.safetensors").write_bytes(os.urandom(2048))
    return model
