"""Fixtures for olivine-runtimes tests: a folder shaped like a Hugging Face checkpoint (olivine.testing's)."""

from __future__ import annotations

import os

from olivine.testing.fixtures import fake_hf_model  # noqa: F401  (a fixture)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
