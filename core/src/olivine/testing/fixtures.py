"""pytest fixtures for plugin test suites: import them into a conftest.py.

    from olivine.testing.fixtures import one_torch_thread, tiny  # noqa: F401

``one_torch_thread`` (autouse) keeps a suite to one intra-op thread so suites can share CPUs;
``tiny`` is the cached tiny Phi-3 folder.
"""

from __future__ import annotations

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
