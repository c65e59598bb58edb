"""Helpers for tests of olivine and its plugins: a tiny Phi-3 model and the tone data."""

from olivine.testing.cli import (
    missing_distributions,
    needs_distributions,
    run_olivine,
    run_olivine_here,
    write_workflow,
)
from olivine.testing.tiny_model import make_tiny_phi3, tiny_phi3, tone_texts
from olivine.testing.tone_data import (
    COMPLETION_TEMPLATE,
    PROMPT_TEMPLATE,
    TONES,
    load_tone_rows,
    tone_data_dir,
)

__all__ = [
    "missing_distributions", "needs_distributions", "run_olivine", "run_olivine_here", "write_workflow",
    "COMPLETION_TEMPLATE", "PROMPT_TEMPLATE", "TONES", "load_tone_rows", "make_tiny_phi3", "tiny_phi3",
    "tone_data_dir", "tone_texts",
]
