"""Fixtures: the tiny Phi-3, LoRA adapters made with peft, and a way to run a pass the way the engine does."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from olivine.testing.fixtures import one_torch_thread, tiny  # noqa: E402,F401

TARGETS = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]


@pytest.fixture(scope="session")
def prompt_ids(tiny):
    """Token ids of a few tone prompts, padded to one batch (the tiny tokenizer pads on the right)."""
    from olivine.testing import PROMPT_TEMPLATE, load_tone_rows
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    prompts = [PROMPT_TEMPLATE.format(phrase=row["phrase"]) for row in load_tone_rows("test")[:4]]
    return tokenizer(prompts, return_tensors="pt", padding=True)


@pytest.fixture(scope="session")
def lora_adapter(tiny, tmp_path_factory) -> Path:
    """A LoRA adapter with random non-zero A and B, so the merge changes every targeted weight."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS,
                                                 init_lora_weights=False, task_type="CAUSAL_LM"))
    out = tmp_path_factory.mktemp("lora") / "adapter"
    peft_model.save_pretrained(out)
    return out


@pytest.fixture
def run_pass(tmp_path):
    """Run a pass on a ModelRef in a fresh output folder; returns (output ModelRef, PassContext)."""
    from olivine import PassContext

    def run(pass_cls, config: dict, model):
        instance = pass_cls(pass_cls.parse_config(config, "passes.p"))
        out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
        out.mkdir()
        ctx = PassContext(output_dir=out, workflow_dir=tmp_path, show_progress=False,
                          logger=logging.getLogger("olivine.pass.p"))
        return instance.run(model, ctx), ctx

    return run
