"""The model-family matrix: every architecture the installed onnxruntime-genai builder dispatches on,
run through the tone workflow on a tiny random model generated from its transformers config class.

One family's run: LoRA (default targets) -> MergeAdapterWeights -> ModelBuilder int4 for cpu ->
onnxruntime-genai generation, each through the real pass; beside that chain, QLoRA (nf4 on CPU) ->
MergeAdapterWeights into the de-quantized base, and an fp16 build of the merged model for cuda (the
builder makes no fp16 cpu model, so it is built here, not run). Used by tests/test_model_families.py
and by scripts/gen_models_doc.py, which writes docs/models.md from these results.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# The matrix's tiny sizes (olivine.testing's defaults are smaller); a sliding window of 32 so that
# sliding-window families use it within the short tone prompts.
SIZES = dict(hidden_size=128, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=32, max_position_embeddings=512, sliding_window=32)

# Families that fail a stage for a reason outside olivine: {stage: reason shown in docs/models.md}.
# The matrix checks that the failure still happens there, so a library that fixes it fails the test.
KNOWN_LIMITS: dict[str, dict[str, str]] = {
    "GptOssForCausalLM": {"int4": "the builder reads the original MXFP4 expert weights only, not a merged model's"},
}

# Prompts of the held-out split scored for accuracy (each costs a forward in torch and in genai).
HELD_OUT = 8
STAGES = ("lora", "merge", "int4", "generate")
# Checks beside the chain: each passes or fails on its own (fp16 needs the chain's merged model).
SIDE_CHECKS = ("qlora", "fp16")
# A QLoRA adapter merged into the de-quantized base computes what the 4-bit model with its adapter did.
QLORA_TOLERANCE = 1e-4


@dataclass
class FamilyResult:
    """What one family's run showed; ``stage`` holds the first stage that failed (None when all passed)."""

    architecture: str
    model_type: str | None
    skipped: str | None = None  # why no tiny model is generated here
    stage: str | None = None
    error: str | None = None
    attention: str | None = None
    targets: list[str] | str | None = None
    adapter_vs_merged: float | None = None  # max |logit difference|
    accuracy: dict[str, float] = field(default_factory=dict)
    stop_tokens: bool | None = None
    lora_notes: list[str] = field(default_factory=list)
    side: dict[str, str | None] = field(default_factory=dict)  # SIDE_CHECKS name -> error, None when passed
    qlora_vs_merged: float | None = None  # max |logit difference|, 4-bit adapter model vs merged

    def passed(self, name: str) -> bool | None:
        """None when not reached or not run; stages before the failing one passed."""
        if self.skipped:
            return None
        if name in SIDE_CHECKS:
            return None if name not in self.side else self.side[name] is None
        failed = STAGES.index(self.stage) if self.stage else len(STAGES)
        index = STAGES.index(name)
        return True if index < failed else (False if index == failed else None)


def builder_architectures() -> list[str]:
    from olivine_modelbuilder import architectures

    return sorted(architectures.supported())


def model_type_for(architecture: str) -> tuple[str | None, str | None]:
    """(transformers model_type, None) for a text-only causal LM transformers builds; else (type, why not)."""
    from transformers import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    candidates = [t for t, cls in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.items() if cls == architecture]
    if not candidates:
        import transformers

        if hasattr(transformers, architecture):
            return None, "multimodal"
        return None, "the model ships its own code (trust_remote_code)"
    stem = architecture.split("For")[0].lower()
    kind = next((t for t in candidates if CONFIG_MAPPING[t].__name__.removesuffix("Config").lower() == stem),
                candidates[0])
    if not architecture.endswith("ForCausalLM"):
        return kind, "multimodal"
    return kind, None


def make_tiny(architecture: str, kind: str, tokenizer, out: Path) -> Path:
    """A deterministic random-init model of ``architecture`` with the tone tokenizer, saved to ``out``."""
    from olivine.testing.tiny_families import make_tiny as make

    return make(kind, tokenizer, out, architecture=architecture, **SIZES)


def tone_tokenizer():
    from olivine.testing import tokenizer as tk
    from olivine.testing import tone_texts

    return tk.train_tokenizer(tone_texts(), 1024, 512)


def run_family(architecture: str, work: Path, tokenizer=None, steps: int = 8) -> FamilyResult:
    """The tone workflow on a tiny ``architecture`` model in ``work``; never raises for a stage failure."""
    kind, why_not = model_type_for(architecture)
    result = FamilyResult(architecture, kind, skipped=why_not)
    if why_not:
        return result
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base = make_tiny(architecture, kind, tokenizer or tone_tokenizer(), work / "base")
    stage = "lora"
    try:
        adapter, trained = _lora(base, work / "lora", steps, result)
        stage = "merge"
        merged = _merge(adapter, trained, work / "merge", result)
        stage = "int4"
        onnx = _build(merged, work / "int4", result)
        stage = "generate"
        _generate(merged, onnx, result)
    except Exception as error:  # noqa: BLE001 - the matrix records what failed where
        result.stage, result.error = stage, _describe(error)
    if result.passed("merge"):
        _side(result, "fp16", _fp16, merged, work / "fp16")
    _side(result, "qlora", _qlora, base, work / "qlora", steps)
    return result


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"


def _side(result: FamilyResult, name: str, check, *args) -> None:
    try:
        check(*args, result)
        result.side[name] = None
    except Exception as error:  # noqa: BLE001 - the matrix records what failed where
        result.side[name] = _describe(error)


def _ctx(folder: Path, key: str):
    from olivine import PassContext
    from olivine.config.schema import DataConfig
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, tone_data_dir

    data = {"name": "tone_train", "type": "HuggingfaceContainer",
            "load_dataset_config": {"data_name": "json", "data_files": str(tone_data_dir() / "train.jsonl"),
                                    "split": "train"},
            "pre_process_data_config": {"prompt_template": PROMPT_TEMPLATE,
                                        "completion_template": COMPLETION_TEMPLATE, "max_seq_len": 64}}
    folder.mkdir(parents=True, exist_ok=True)
    return PassContext(output_dir=folder, workflow_dir=folder, pass_key=key, show_progress=False,
                       data_configs={"tone_train": DataConfig.model_validate(data)},
                       logger=logging.getLogger(f"olivine.pass.{key}"))


def _train(base: Path, folder: Path, steps: int, quantized: bool):
    from olivine import ModelRef
    from olivine_lora.passes import LoRA, QLoRA
    from olivine_lora.run import train_adapter

    kind = QLoRA if quantized else LoRA
    config = kind.parse_config({"train_data_config": "tone_train", "r": 8, "alpha": 16, "training_args": {
        "learning_rate": 5e-3, "per_device_train_batch_size": 4, "max_steps": steps, "seed": 0}}, "passes.lora")
    ctx = _ctx(folder, "lora")
    adapter, trained = train_adapter(config, ModelRef(format="hf", path=base), ctx, quantized=quantized)
    return adapter, trained, config, ctx


def _lora(base: Path, folder: Path, steps: int, result: FamilyResult):
    adapter, trained, config, ctx = _train(base, folder, steps, quantized=False)
    result.targets = ctx.report.get("target_modules", config.target_modules)
    result.attention = trained.base_model.model.config._attn_implementation
    result.lora_notes = list(ctx.report.get("notes", []))
    return adapter, trained


def _merge(adapter, trained, folder: Path, result: FamilyResult):
    merged, result.adapter_vs_merged = _merge_and_compare(adapter, trained, folder)
    return merged


def _merge_and_compare(adapter, trained, folder: Path):
    """MergeAdapterWeights, and the largest |logit difference| between the merged model and ``trained``."""
    import torch
    from olivine_merge.merge_pass import MergeAdapterWeights
    from transformers import AutoModelForCausalLM

    merged = MergeAdapterWeights(MergeAdapterWeights.parse_config({}, "passes.merge")).run(
        adapter, _ctx(folder, "merge"))
    batch = _prompt_batch(trained)
    trained.eval()
    with torch.no_grad():
        expected = trained(**batch).logits
        got = AutoModelForCausalLM.from_pretrained(merged.path, dtype=torch.float32).eval()(**batch).logits
    return merged, float((got - expected).abs().max())


def _qlora(base: Path, folder: Path, steps: int, result: FamilyResult) -> None:
    """QLoRA (nf4 base on CPU), merged into the de-quantized base: the merge must match the 4-bit model."""
    adapter, trained, _, _ = _train(base, folder / "train", steps, quantized=True)
    _, result.qlora_vs_merged = _merge_and_compare(adapter, trained, folder / "merge")
    if not result.qlora_vs_merged <= QLORA_TOLERANCE:
        raise AssertionError(f"merged logits differ from the 4-bit model's by {result.qlora_vs_merged:.2g}")


def _fp16(merged, folder: Path, result: FamilyResult) -> None:
    """An fp16 build for cuda, whose logits come out as fp16 (no CPU here runs it: not generated)."""
    import onnx
    from olivine_modelbuilder.model_builder import ModelBuilder

    builder = ModelBuilder(ModelBuilder.parse_config({"precision": "fp16", "execution_provider": "cuda"},
                                                     "passes.builder"))
    built = builder.run(merged, _ctx(folder, "builder"))
    graph = onnx.load(str(built.path / "model.onnx"), load_external_data=False).graph
    logits = next(output for output in graph.output if output.name == "logits")
    if logits.type.tensor_type.elem_type != onnx.TensorProto.FLOAT16:
        raise AssertionError("the fp16 build's logits are not fp16")


def _prompt_batch(model):
    from olivine.testing import PROMPT_TEMPLATE, load_tone_rows
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.peft_config["default"].base_model_name_or_path)
    texts = [PROMPT_TEMPLATE.format(phrase=row["phrase"]) for row in load_tone_rows("test")[:4]]
    return tokenizer(texts, add_special_tokens=False, return_tensors="pt", padding=True)


def _build(merged, folder: Path, result: FamilyResult):
    from olivine_modelbuilder.model_builder import ModelBuilder

    builder = ModelBuilder(ModelBuilder.parse_config({"precision": "int4"}, "passes.builder"))
    return builder.run(merged, _ctx(folder, "builder"))


def _generate(merged, onnx, result: FamilyResult) -> None:
    """Greedy first answer token on held-out prompts, in torch (merged) and onnxruntime-genai (int4);
    and the stop tokens the tokenizer defines in genai_config.json."""
    import json

    import numpy as np
    import onnxruntime_genai as og
    import torch
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, load_tone_rows
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(merged.path)
    rows = load_tone_rows("test")[:HELD_OUT]
    prompts = [tokenizer(PROMPT_TEMPLATE.format(phrase=r["phrase"]), add_special_tokens=False)["input_ids"]
               for r in rows]
    answers = [tokenizer(COMPLETION_TEMPLATE.format(tone=r["tone"]), add_special_tokens=False)["input_ids"][0]
               for r in rows]
    model = AutoModelForCausalLM.from_pretrained(merged.path, dtype=torch.float32).eval()
    with torch.no_grad():
        torch_first = [int(model(input_ids=torch.tensor([p])).logits[0, -1].argmax()) for p in prompts]
    genai = og.Model(str(onnx.path))
    genai_first = []
    for prompt in prompts:
        params = og.GeneratorParams(genai)
        # The KV cache must hold a sliding window (32 in the tiny configs) for genai to run the model.
        params.set_search_options(max_length=max(len(prompt) + 4, 64), do_sample=False)
        generator = og.Generator(genai, params)
        generator.append_tokens(prompt)
        genai_first.append(int(np.asarray(generator.get_output("logits"))[0, -1].argmax()))
        while not generator.is_done():
            generator.generate_next_token()
    score = lambda firsts: sum(f == a for f, a in zip(firsts, answers, strict=True)) / len(answers)  # noqa: E731
    result.accuracy = {"merged": score(torch_first), "int4": score(genai_first)}
    eos = json.loads((onnx.path / "genai_config.json").read_text())["model"]["eos_token_id"]
    wanted = {tokenizer.convert_tokens_to_ids("<|end|>"), tokenizer.eos_token_id}
    result.stop_tokens = wanted <= set(eos if isinstance(eos, list) else [eos])
