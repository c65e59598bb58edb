"""Every architecture the installed onnxruntime-genai builder builds: LoRA, merge, int4 export and
generation, QLoRA and merge, an fp16 build, on a tiny random model of the family
(scripts/family_matrix.py), checked against docs/models.md.

A family costs about two seconds on one core (tiny models: 2 layers, hidden 128, 8 training steps
each for LoRA and QLoRA), so the whole matrix runs in the default suite.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("onnxruntime_genai")
pytest.importorskip("peft")

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


matrix = _load("family_matrix")
docs = _load("gen_models_doc")
ARCHITECTURES = matrix.builder_architectures()


@pytest.fixture(scope="module")
def tokenizer():
    import torch

    torch.set_num_threads(1)
    return matrix.tone_tokenizer()


@pytest.fixture(scope="module")
def page_rows() -> dict[str, str]:
    return docs.rows_in_page(docs.PAGE.read_text(encoding="utf-8"))


def test_the_page_has_a_row_for_every_architecture_the_builder_builds(page_rows):
    assert ARCHITECTURES, "the installed onnxruntime-genai builder lists no architecture"
    assert sorted(page_rows) == ARCHITECTURES, "docs/models.md is stale: run scripts/gen_models_doc.py"


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_family_fine_tunes_merges_and_exports(architecture, tokenizer, tmp_path, page_rows):
    result = matrix.run_family(architecture, tmp_path / "run", tokenizer)

    assert page_rows.get(architecture) == docs.row(result), (
        f"docs/models.md row differs from this run ({result.error}): run scripts/gen_models_doc.py")
    if result.skipped:
        pytest.skip(f"{architecture}: {result.skipped}")
    limits = matrix.KNOWN_LIMITS.get(architecture, {})
    for stage in limits:  # still failing where documented; when the library fixes it, this fails
        assert result.passed(stage) is False, f"{architecture} now passes {stage}: drop it from KNOWN_LIMITS"
    for check in matrix.SIDE_CHECKS:
        assert check in limits or result.passed(check), result.side.get(check)
    assert result.qlora_vs_merged is None or result.qlora_vs_merged <= matrix.QLORA_TOLERANCE
    if set(limits) & set(matrix.STAGES):
        return
    assert result.stage is None, result.error
    assert result.adapter_vs_merged <= 1e-5
    assert abs(result.accuracy["int4"] - result.accuracy["merged"]) <= 1 / matrix.HELD_OUT
    assert result.stop_tokens


def test_gemma2_trains_with_eager_attention_and_says_so(tokenizer, tmp_path):
    result = matrix.run_family("Gemma2ForCausalLM", tmp_path / "run", tokenizer)

    assert result.stage is None, result.error
    assert result.attention == "eager"
    assert any("eager attention" in note for note in result.lora_notes)


def test_gemma3_export_leaves_the_users_config_untouched(tokenizer, tmp_path):
    base = matrix.make_tiny("Gemma3ForCausalLM", "gemma3_text", tokenizer, tmp_path / "base")
    saved = json.loads((base / "config.json").read_text())
    assert set(saved["rope_parameters"]) == {"full_attention", "sliding_attention"}  # transformers 5's layout
    digest = hashlib.sha256((base / "config.json").read_bytes()).hexdigest()

    onnx = matrix._build(_hf(base), tmp_path / "int4", None)

    assert hashlib.sha256((base / "config.json").read_bytes()).hexdigest() == digest
    assert "rope_local_base_freq" in (tmp_path / "int4" / "builder.log").read_text()
    assert (onnx.path / "model.onnx").is_file()


def _hf(path: Path):
    from olivine import ModelRef

    return ModelRef(format="hf", path=path)


@pytest.fixture(scope="module")
def olmo2(tokenizer, tmp_path_factory) -> Path:
    """A tiny OLMo 2: transformers builds it, onnxruntime-genai's builder does not."""
    return matrix.make_tiny("Olmo2ForCausalLM", "olmo2", tokenizer, tmp_path_factory.mktemp("olmo2") / "model")


def test_an_architecture_the_builder_cannot_export_is_refused_with_the_list(olmo2, tmp_path):
    from olivine.testing import tone_data_dir

    assert "Olmo2ForCausalLM" not in ARCHITECTURES
    workflow = {
        "input_model": {"type": "HfModel", "model_path": str(olmo2)},
        "data_configs": [{"name": "tone", "type": "HuggingfaceContainer", "load_dataset_config": {
            "data_name": "json", "data_files": str(tone_data_dir() / "train.jsonl"), "split": "train"}}],
        "passes": {"lora": {"type": "LoRA", "train_data_config": "tone"},
                   "merge": {"type": "MergeAdapterWeights"},
                   "builder": {"type": "ModelBuilder", "precision": "int4"}},
        "engine": {"output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache")},
    }
    (tmp_path / "workflow.json").write_text(json.dumps(workflow))

    done = subprocess.run([sys.executable, "-m", "olivine", "config", "validate", str(tmp_path / "workflow.json")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})

    assert done.returncode == 2, done.stdout + done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "passes.builder.type:" in line and "Olmo2ForCausalLM" in line
    assert all(name in line for name in ARCHITECTURES)
    assert "did you mean" not in line.lower()


def test_fine_tuning_alone_works_for_a_family_the_builder_cannot_export(olmo2, tmp_path):
    from olivine import ModelRef
    from olivine_lora.passes import LoRA
    from olivine_lora.run import train_adapter

    config = LoRA.parse_config({"train_data_config": "tone_train",
                                "training_args": {"max_steps": 4, "per_device_train_batch_size": 4}}, "passes.lora")
    adapter, _ = train_adapter(config, _hf(olmo2), matrix._ctx(tmp_path, "lora"), quantized=False)

    assert (adapter.path / "adapter_model.safetensors").is_file()
    assert isinstance(adapter, ModelRef) and adapter.format == "hf+adapter"


# Mixture-of-experts families transformers builds from a config: model_type -> (class, expert settings).
# transformers 5 stores their experts as fused 3-D parameters and routes with a TopKRouter module
# (Qwen2-MoE also scales its shared expert by a one-output linear gate).
MOE = {
    "mixtral": ("MixtralForCausalLM", {"num_local_experts": 4, "num_experts_per_tok": 2}),
    "qwen2_moe": ("Qwen2MoeForCausalLM", {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
                                          "shared_expert_intermediate_size": 32}),
    "qwen3_moe": ("Qwen3MoeForCausalLM", {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32}),
    "phimoe": ("PhimoeForCausalLM", {"num_local_experts": 4, "num_experts_per_tok": 2}),  # Phi-3.5-MoE
    "lfm2_moe": ("Lfm2MoeForCausalLM", {}),  # the builder exports it: its matrix row runs int4 and generation
}
ROUTER_LEAVES = ("gate", "router", "shared_expert_gate")


@pytest.mark.parametrize("kind", sorted(MOE))
def test_lora_on_a_mixture_of_experts_leaves_the_router_frozen(kind, tokenizer, tmp_path):
    import torch
    from olivine.testing.tiny_families import make_tiny
    from transformers import AutoModelForCausalLM

    architecture, experts = MOE[kind]
    base = make_tiny(kind, tokenizer, tmp_path / "base", architecture=architecture, hidden_size=64, head_dim=16,
                     **experts)

    adapter, trained, _, ctx = matrix._train(base, tmp_path / "lora", 2, quantized=False)
    merged, difference = matrix._merge_and_compare(adapter, trained, tmp_path / "merge")

    model = trained.get_base_model()
    routers = [name for name, _ in model.named_modules() if name.rsplit(".", 1)[-1] in ROUTER_LEAVES]
    assert routers, f"no router found in {kind}"
    adapted = {name.split(".lora_")[0] for name, _ in trained.named_parameters() if ".lora_" in name}
    assert adapted and not [name for name in adapted for router in routers if f".{router}." in f".{name}."]
    assert not [name for name, p in model.named_parameters() if p.requires_grad and "lora_" not in name]
    assert {"q_proj", "k_proj", "v_proj"} <= set(ctx.report["target_modules"])
    assert not set(ROUTER_LEAVES) & set(ctx.report["target_modules"])
    # The merged model routes exactly as the base did: its router weights are the base's.
    before, after = (AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).state_dict()
                     for path in (base, merged.path))
    router_keys = [key for key in before if any(key.startswith(router + ".") for router in routers)]
    assert router_keys and all(torch.equal(before[key], after[key]) for key in router_keys)
    assert difference <= 1e-5


def test_default_targets_of_qwen2_moe_adapt_its_shared_expert_and_leave_its_gates_frozen():
    """Qwen2-MoE is in no default-target list: its linear layers are found on the loaded model."""
    import torch
    from olivine_lora.architectures import LINEAR_LAYERS, default_targets
    from transformers import AutoModelForCausalLM, Qwen2MoeConfig

    assert "qwen2_moe" not in LINEAR_LAYERS
    config = Qwen2MoeConfig(vocab_size=64, hidden_size=32, intermediate_size=32, moe_intermediate_size=16,
                            shared_expert_intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                            num_key_value_heads=1, num_experts=4, num_experts_per_tok=2)
    model = AutoModelForCausalLM.from_config(config).to(torch.float32)

    targets = default_targets("qwen2_moe", model)

    assert {"gate_proj", "up_proj", "down_proj"} <= set(targets)  # the shared expert's layers
    assert not {"gate", "shared_expert_gate", "lm_head"} & set(targets)


def test_naming_the_mixtral_router_as_a_target_is_refused_at_validation():
    from olivine_lora.passes import target_name_errors

    errors = target_name_errors(["q_proj", "gate"], "mixtral", "passes.lora")

    assert [error.path for error in errors] == ["passes.lora.target_modules[1]"]


def test_the_fused_experts_of_a_mixture_of_experts_are_targetable(tokenizer, tmp_path):
    """transformers 5 stores Mixtral's experts as 3-D weights, not linear layers: ``target_parameters``
    adapts them (PEFT's), the router stays frozen, and the merge is exact."""
    import torch
    from olivine import ModelRef
    from olivine.testing.tiny_families import make_tiny
    from olivine_lora.passes import LoRA
    from olivine_lora.run import train_adapter
    from transformers import AutoModelForCausalLM

    architecture, experts = MOE["mixtral"]
    base = make_tiny("mixtral", tokenizer, tmp_path / "base", architecture=architecture, hidden_size=64, head_dim=16,
                     **experts)
    config = LoRA.parse_config({"train_data_config": "tone_train", "r": 4, "alpha": 8,
                                "target_modules": ["q_proj", "v_proj"],
                                "target_parameters": ["experts.gate_up_proj", "experts.down_proj"],
                                "training_args": {"learning_rate": 5e-3, "per_device_train_batch_size": 4,
                                                  "max_steps": 2, "seed": 0}}, "passes.lora")
    ctx = matrix._ctx(tmp_path / "lora", "lora")
    adapter, trained = train_adapter(config, ModelRef(format="hf", path=base), ctx, quantized=False)

    adapted = [name for name, p in trained.named_parameters() if "lora_" in name and p.requires_grad]
    assert any("experts" in name for name in adapted) and not any(".gate." in name for name in adapted)
    merged, difference = matrix._merge_and_compare(adapter, trained, tmp_path / "merge")
    assert difference <= 1e-5
    before, after = (AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).state_dict()
                     for path in (base, merged.path))
    changed = [key for key in before if not torch.equal(before[key], after[key])]
    assert any("experts.gate_up_proj" in key for key in changed) and any("experts.down_proj" in key for key in changed)
    assert not [key for key in changed if ".mlp.gate." in key]  # the router routes as before


def test_a_target_parameter_the_model_lacks_is_refused_with_the_names_it_has(tokenizer, tmp_path):
    from olivine import ConfigError, ModelRef
    from olivine.testing.tiny_families import make_tiny
    from olivine_lora.passes import LoRA
    from olivine_lora.run import train_adapter

    architecture, experts = MOE["mixtral"]
    base = make_tiny("mixtral", tokenizer, tmp_path / "base", architecture=architecture, hidden_size=64, head_dim=16,
                     **experts)
    config = LoRA.parse_config({"train_data_config": "tone_train", "target_parameters": ["experts.gate_proj"],
                                "training_args": {"max_steps": 1}}, "passes.lora")
    with pytest.raises(ConfigError) as refused:
        train_adapter(config, ModelRef(format="hf", path=base), matrix._ctx(tmp_path / "lora", "lora"), quantized=False)
    assert refused.value.path == "passes.lora.target_parameters[0]"
    assert "experts.gate_up_proj" in str(refused.value)
