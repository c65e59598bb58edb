"""Fixtures: the tiny Phi-3, a briefly fine-tuned copy with a trained LoRA adapter merged in, and helpers
to run the pass and to read answers from PyTorch and from onnxruntime-genai."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime_genai")

from olivine.testing.fixtures import one_torch_thread, tiny  # noqa: E402,F401

TARGETS = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]


@pytest.fixture(scope="session")
def tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny)


def _examples(tokenizer, split: str) -> list[tuple[list[int], list[int]]]:
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, load_tone_rows

    return [(tokenizer(PROMPT_TEMPLATE.format(phrase=r["phrase"]))["input_ids"],
             tokenizer(COMPLETION_TEMPLATE.format(tone=r["tone"]))["input_ids"]) for r in load_tone_rows(split)]


@pytest.fixture(scope="session")
def held_out(tokenizer):
    """(prompt ids, completion ids) of the tone test split."""
    return _examples(tokenizer, "test")


def _train(model, tokenizer, steps: int, lr: float, seed: int) -> None:
    """Completion-only loss, batches of 16 drawn from the tone train split."""
    examples = _examples(tokenizer, "train")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = [examples[i] for i in torch.randint(0, len(examples), (16,), generator=generator)]
        width = max(len(p) + len(c) for p, c in batch)
        pad = tokenizer.pad_token_id
        ids = [p + c + [pad] * (width - len(p) - len(c)) for p, c in batch]
        labels = [[-100] * len(p) + c + [-100] * (width - len(p) - len(c)) for p, c in batch]
        mask = [[1] * (len(p) + len(c)) + [0] * (width - len(p) - len(c)) for p, c in batch]
        loss = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), labels=torch.tensor(labels)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


@pytest.fixture(scope="session")
def fine_tuned(tiny, tokenizer, tmp_path_factory) -> Path:
    """The tiny model briefly fine-tuned on the tone data (all weights: LoRA alone needs far more steps
    to move a random 0.6 M-parameter model); about 75% held-out accuracy."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    _train(model, tokenizer, steps=150, lr=3e-3, seed=0)
    return _save(model, tiny, tmp_path_factory.mktemp("fine-tuned") / "model")


@pytest.fixture(scope="session")
def adapter(fine_tuned, tokenizer, tmp_path_factory) -> Path:
    """A LoRA adapter trained for a few steps over the fine-tuned model (non-zero B everywhere)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(fine_tuned, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, task_type="CAUSAL_LM"))
    _train(model, tokenizer, steps=10, lr=2e-3, seed=1)
    out = tmp_path_factory.mktemp("adapter") / "adapter"
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def merged(fine_tuned, adapter, tmp_path_factory) -> Path:
    """The adapter merged into the fine-tuned model with peft: what MergeAdapterWeights hands over."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(fine_tuned), adapter).merge_and_unload()
    return _save(model, fine_tuned, tmp_path_factory.mktemp("merged") / "model")


def _save(model, source: Path, out: Path) -> Path:
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(source / name, out / name)
    return out


@pytest.fixture(scope="session")
def torch_answers(held_out):
    """Answer-position logits of a Hugging Face folder for every held-out prompt (one at a time)."""
    from transformers import AutoModelForCausalLM

    def answers(folder: Path):
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        with torch.no_grad():
            return torch.stack([model(input_ids=torch.tensor([p])).logits[0, -1] for p, _ in held_out]).numpy()

    return answers


@pytest.fixture(scope="session")
def onnx_answers(held_out):
    """Answer-position logits of an onnxruntime-genai model folder for every held-out prompt."""
    import numpy as np
    import onnxruntime_genai as og

    def answers(folder: Path):
        model = og.Model(str(folder))
        rows = []
        for prompt, _ in held_out:
            params = og.GeneratorParams(model)
            params.set_search_options(max_length=len(prompt) + 8)
            generator = og.Generator(model, params)
            generator.append_tokens(prompt)
            rows.append(np.asarray(generator.get_output("logits"))[0, -1])
        return np.stack(rows)

    return answers


@pytest.fixture(scope="session")
def accuracy(held_out):
    """Share of held-out prompts whose greedy first answer token is the tone."""
    def score(logits) -> float:
        return sum(int(row.argmax()) == c[0] for row, (_, c) in zip(logits, held_out, strict=True)) / len(held_out)

    return score


@pytest.fixture
def run_pass(tmp_path):
    """Run a pass on a ModelRef the way the engine does; returns (output ModelRef, PassContext)."""
    from olivine import Accelerator, PassContext

    def run(pass_cls, config: dict, model, provider: str = "CPUExecutionProvider", show_progress: bool = False):
        instance = pass_cls(pass_cls.parse_config(config, "passes.builder"))
        out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
        out.mkdir()
        ctx = PassContext(output_dir=out, workflow_dir=tmp_path, show_progress=show_progress,
                          accelerator=Accelerator(execution_provider=provider),
                          logger=logging.getLogger("olivine.pass.builder"))
        return instance.run(model, ctx), ctx

    return run


@pytest.fixture(scope="session")
def build_once(tmp_path_factory):
    """Session-wide builds keyed by (model folder, config), for tests that only read the output."""
    import logging as _logging

    from olivine import Accelerator, ModelRef, PassContext
    from olivine_modelbuilder.model_builder import ModelBuilder

    built: dict[str, tuple] = {}

    def build(folder: Path, config: dict, provider: str = "CPUExecutionProvider", fmt: str = "hf",
              base: Path | None = None):
        key = json.dumps([str(folder), config, provider, fmt, str(base)], sort_keys=True)
        if key not in built:
            out = tmp_path_factory.mktemp("build")
            ctx = PassContext(output_dir=out, workflow_dir=out, show_progress=False,
                              accelerator=Accelerator(execution_provider=provider),
                              logger=_logging.getLogger("olivine.pass.builder"))
            instance = ModelBuilder(ModelBuilder.parse_config(config, "passes.builder"))
            built[key] = (instance.run(ModelRef(format=fmt, path=folder, base_model=base), ctx), ctx)
        return built[key]

    return build
