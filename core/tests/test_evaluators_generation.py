"""Built-in metric types on a tiny Phi-3 trained here (completion-only loss on the tone data), on hf,
hf+adapter and onnx-genai builds of it; each result is checked against an independent computation."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from olivine.builtin.evaluators.accuracy import Accuracy  # noqa: E402
from olivine.builtin.evaluators.latency import Latency  # noqa: E402
from olivine.builtin.evaluators.perplexity import Perplexity  # noqa: E402
from olivine.builtin.evaluators.size import Size  # noqa: E402
from olivine.config.schema import DataConfig, MetricConfig  # noqa: E402
from olivine.evaluators import EvalContext  # noqa: E402
from olivine.models import ModelRef  # noqa: E402
from olivine.passes import Accelerator  # noqa: E402
from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, tiny_phi3, tone_data_dir  # noqa: E402

TRAIN_STEPS = 150
SAMPLES = 24


def tone_data(split: str) -> DataConfig:
    return DataConfig(name=split, load_dataset_config={"data_files": str(tone_data_dir() / f"{split}.jsonl")},
                      pre_process_data_config={"prompt_template": PROMPT_TEMPLATE,
                                               "completion_template": COMPLETION_TEMPLATE, "max_seq_len": 48})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The tiny Phi-3 after a short plain-torch fine-tune with completion-only loss."""
    import torch
    from olivine.data import training_examples
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_phi3())
    model = AutoModelForCausalLM.from_pretrained(tiny_phi3(), dtype=torch.float32)
    train, _ = training_examples(tone_data("train"), tokenizer)
    batch = {key: torch.tensor([ex[key] for ex in train]) for key in train[0]}
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    picks = torch.Generator().manual_seed(0)
    for _ in range(TRAIN_STEPS):
        rows = torch.randint(0, len(train), (16,), generator=picks)
        model(**{key: value[rows] for key, value in batch.items()}).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    out = tmp_path_factory.mktemp("trained") / "model"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_genai(source: Path, out: Path, precision: str, provider: str, monkeypatch) -> Path:
    """``python -m onnxruntime_genai.models.builder ...``, run in this process to skip a second torch import."""
    import runpy

    argv = ["builder", "-i", str(source), "-o", str(out), "-p", precision, "-e", provider,
            "-c", str(out.parent / f"{out.name}-cache")]
    with monkeypatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        runpy.run_module("onnxruntime_genai.models.builder", run_name="__main__")
    return out


@pytest.fixture(scope="module")
def genai_fp32(trained) -> ModelRef:
    with pytest.MonkeyPatch.context() as patch:
        return ModelRef(format="onnx-genai", path=build_genai(trained, trained.parent / "fp32", "fp32", "cpu", patch))


@pytest.fixture(scope="module")
def genai_int4_dml(trained) -> ModelRef:
    with pytest.MonkeyPatch.context() as patch:
        path = build_genai(trained, trained.parent / "int4-dml", "int4", "dml", patch)
    return ModelRef(format="onnx-genai", path=path)


@pytest.fixture(scope="module")
def adapter_and_merged(trained):
    """A LoRA adapter with non-zero weights on the trained model, and the same adapter merged in."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(trained, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=2, target_modules=["qkv_proj", "o_proj"],
                                                 init_lora_weights=False))
    adapter = trained.parent / "adapter"
    peft_model.save_pretrained(adapter)
    merged = trained.parent / "merged"
    peft_model.merge_and_unload().save_pretrained(merged)
    AutoTokenizer.from_pretrained(trained).save_pretrained(merged)
    return ModelRef(format="hf+adapter", path=adapter, base_model=trained), ModelRef(format="hf", path=merged)


def hf(path: Path) -> ModelRef:
    return ModelRef(format="hf", path=path)


def evaluate(evaluator_cls, model: ModelRef, subs: list[str], data: DataConfig | None = None,
             accelerator: Accelerator | None = None, **user_config) -> dict[str, float]:
    metric = MetricConfig(name="m", type=evaluator_cls.name, sub_types=[{"name": s} for s in subs],
                          data_config=data.name if data else None, user_config=user_config)
    ctx = EvalContext(metric=metric, workflow_dir=Path.cwd(), data_configs={data.name: data} if data else {},
                      accelerator=accelerator or Accelerator(), show_progress=False)
    evaluator = evaluator_cls(evaluator_cls.parse_config(user_config, "user_config"))
    return evaluator.evaluate(model, ctx)


def accuracy(model: ModelRef, **user_config) -> float:
    return evaluate(Accuracy, model, ["accuracy_score"], tone_data("test"), max_samples=SAMPLES, max_new_tokens=6,
                    **user_config)["accuracy_score"]


def greedy_accuracy(path: Path) -> float:
    """Token-by-token argmax with the bare model, stopping at any special token: what accuracy should find."""
    import torch
    from olivine.data import prompt_label_pairs
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    special = set(tokenizer.all_special_ids)
    correct = 0
    for prompt, label in prompt_label_pairs(tone_data("test"))[:SAMPLES]:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        new = []
        with torch.inference_mode():
            for _ in range(6):
                token = int(model(input_ids=ids).logits[0, -1].argmax())
                if token in special:
                    break
                new.append(token)
                ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        correct += tokenizer.decode(new).strip() == label.removesuffix("<|end|>")
    return correct / SAMPLES


def test_accuracy_matches_independent_greedy_decoding_batched_or_not(trained):
    score = accuracy(hf(trained), batch_size=8)
    assert score == greedy_accuracy(trained)
    assert score >= 0.5
    assert accuracy(hf(trained), batch_size=1) == score
    assert accuracy(hf(tiny_phi3())) <= 0.3  # untrained: not a tone word


def test_accuracy_of_adapter_equals_the_merged_model(adapter_and_merged):
    adapter, merged = adapter_and_merged
    assert accuracy(adapter) == accuracy(merged) == greedy_accuracy(merged.path)


def test_accuracy_on_onnx_genai_equals_hf(trained, genai_fp32):
    assert accuracy(genai_fp32, batch_size=8) == accuracy(genai_fp32, batch_size=1) == accuracy(hf(trained))


def test_directml_build_evaluates_on_cpu(genai_int4_dml):
    """A dml-built model: the CPU target clears its providers; a DirectML target can opt into CPU."""
    import onnxruntime_genai as og

    on_cpu = accuracy(genai_int4_dml)
    dml = Accelerator(device="gpu", execution_provider="DmlExecutionProvider")
    assert accuracy(genai_int4_dml, clear_providers=True, batch_size=1) == on_cpu
    if not og.is_dml_available():
        with pytest.raises(RuntimeError, match="DML"):
            accuracy(genai_int4_dml, accelerator=dml)


def test_perplexity_drops_with_training_and_matches_the_model_loss(trained):
    import torch
    from olivine.data import training_examples
    from transformers import AutoModelForCausalLM, AutoTokenizer

    after = evaluate(Perplexity, hf(trained), ["perplexity", "loss"], tone_data("test"), max_samples=16, batch_size=4)
    before = evaluate(Perplexity, hf(tiny_phi3()), ["perplexity"], tone_data("test"), max_samples=16)
    assert after["perplexity"] < before["perplexity"] / 10
    assert after["perplexity"] == pytest.approx(math.exp(after["loss"]))
    model = AutoModelForCausalLM.from_pretrained(trained, dtype=torch.float32)
    examples, _ = training_examples(tone_data("test"), AutoTokenizer.from_pretrained(trained))
    batch = {key: torch.tensor([ex[key] for ex in examples[:16]]) for key in examples[0]}
    with torch.inference_mode():
        assert after["loss"] == pytest.approx(float(model(**batch).loss), rel=1e-4)


@pytest.mark.parametrize("fixture", ["trained", "genai_fp32"])
def test_latency_reports_ordered_percentiles_and_decode_speed(fixture, request):
    value = request.getfixturevalue(fixture)
    model = hf(value) if isinstance(value, Path) else value
    subs = ["avg", "min", "p50", "p90", "p99", "max", "ttft", "tokens_per_second"]
    result = evaluate(Latency, model, subs, tone_data("test"), warmup_runs=1, runs=5, max_new_tokens=8)
    assert list(result) == subs
    assert 0 < result["min"] <= result["p50"] <= result["p90"] <= result["p99"] <= result["max"]
    assert result["min"] <= result["avg"] <= result["max"]
    assert 0 < result["ttft"] < result["max"]
    assert result["tokens_per_second"] > 0


def test_size_counts_parameters_from_headers(trained, genai_fp32, genai_int4_dml, adapter_and_merged):
    from transformers import AutoModelForCausalLM

    hf_size = evaluate(Size, hf(trained), ["bytes", "parameters"])
    assert hf_size["parameters"] == AutoModelForCausalLM.from_pretrained(trained).num_parameters()
    assert hf_size["bytes"] == sum(f.stat().st_size for f in trained.iterdir())
    fp32 = evaluate(Size, genai_fp32, ["parameters", "bytes"])
    int4 = evaluate(Size, genai_int4_dml, ["parameters", "bytes"])
    # the ONNX graph also stores rotary cos/sin caches (max positions x head_size/2, twice)
    assert fp32["parameters"] == int4["parameters"] == hf_size["parameters"] + 2 * 512 * 16
    assert int4["bytes"] < fp32["bytes"] / 3
    adapter, _ = adapter_and_merged
    with_adapter = evaluate(Size, adapter, ["bytes"])
    assert with_adapter["bytes"] == hf_size["bytes"] + sum(f.stat().st_size for f in adapter.path.iterdir())


def test_a_workflow_evaluates_its_input_model_with_data_relative_to_the_config(trained, tmp_path):
    import json
    import shutil

    from olivine.engine import run

    shutil.copy(tone_data_dir() / "test.jsonl", tmp_path / "held_out.jsonl")
    config = {
        "input_model": {"type": "HfModel", "model_path": str(trained)},
        "data_configs": [{"name": "held_out", "type": "HuggingfaceContainer",
                          "load_dataset_config": {"data_name": "json", "data_files": "held_out.jsonl",
                                                  "split": f"train[:{SAMPLES}]"},
                          "pre_process_data_config": {"prompt_template": PROMPT_TEMPLATE,
                                                      "completion_template": COMPLETION_TEMPLATE}}],
        "evaluators": {"e": {"metrics": [
            {"name": "acc", "type": "accuracy", "data_config": "held_out", "user_config": {"max_new_tokens": 6},
             "sub_types": [{"name": "accuracy_score", "goal": {"type": "threshold", "value": 0.5}}]}]}},
        "engine": {"evaluator": "e", "cache_dir": "cache", "output_dir": "out"},
    }
    (tmp_path / "workflow.json").write_text(json.dumps(config))
    outcome = run(tmp_path / "workflow.json", show_progress=False)
    stage = outcome.run["stages"][0]
    assert stage["metrics"]["acc"]["accuracy_score"] == greedy_accuracy(trained)
    assert stage["goals_met"] is True


def test_perplexity_on_onnx_genai_equals_the_hf_model(trained, genai_fp32):
    """The fp32 export scores the same examples as the model it was built from, batched or not."""
    data = tone_data("test")
    on_hf = evaluate(Perplexity, hf(trained), ["perplexity", "loss"], data, max_samples=16, batch_size=4)
    batched = evaluate(Perplexity, genai_fp32, ["perplexity", "loss"], data, max_samples=16, batch_size=8)
    one_by_one = evaluate(Perplexity, genai_fp32, ["loss"], data, max_samples=16, batch_size=1)
    assert batched["loss"] == pytest.approx(on_hf["loss"], rel=1e-4)
    assert one_by_one["loss"] == pytest.approx(batched["loss"], rel=1e-6)
    assert batched["perplexity"] == pytest.approx(math.exp(batched["loss"]))
