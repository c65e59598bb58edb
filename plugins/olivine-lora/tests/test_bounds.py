"""Settings a base model or the training loop cannot honour are refused at validation, before any training:
one line naming the key, exit status 2, without importing transformers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from olivine_lora import model_types


def lora_pass(**extra):
    return {"lora": {"type": "LoRA", "train_data_config": "tone_train", **extra}}


def validate_in_subprocess(workflow) -> dict:
    """Validate as the CLI does, in a fresh interpreter: the error lines and which heavy modules it imported."""
    script = textwrap.dedent(f"""
        import json, sys
        from olivine import ConfigErrors, validate_workflow
        try:
            validate_workflow({str(workflow)!r})
            errors = []
        except ConfigErrors as exc:
            errors = [e.line() for e in exc.errors]
        heavy = [m for m in ("torch", "transformers", "peft") if m in sys.modules]
        print(json.dumps({{"errors": errors, "heavy": heavy}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OLIVINE_LOAD_PLUGINS": "lora"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def with_pre(kit, **pre) -> list[dict]:
    data = kit.tone_data_config()
    data["pre_process_data_config"].update(pre)
    return [data]


def test_max_seq_len_above_the_models_context_is_refused_through_run(tmp_path, tiny_model, kit):
    """The tiny Phi-3 was built for 512 positions (max_position_embeddings in its config.json)."""
    workflow = kit.write_workflow(tmp_path, lora_pass(), tiny_model, with_pre(kit, max_seq_len=513))
    result = kit.cli("run", "--config", str(workflow), "--no-progress")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: data_configs[0].pre_process_data_config.max_seq_len: 513 is above the base model's "
                      "context length of 512 tokens (max_position_embeddings in its config.json), which passes.lora "
                      "trains (set max_seq_len to at most 512)"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_the_context_check_reads_olives_old_spelling_and_passes_at_the_limit(tmp_path, tiny_model, kit):
    data = with_pre(kit)
    data[0]["pre_process_data_config"].pop("max_seq_len")
    data[0]["pre_process_data_config"]["source_max_len"] = 100_000
    outcome = validate_in_subprocess(kit.write_workflow(tmp_path, lora_pass(), tiny_model, data))
    assert [e.split(": ")[0] for e in outcome["errors"]] == ["data_configs[0].pre_process_data_config.source_max_len"]
    assert outcome["heavy"] == []
    at_limit = validate_in_subprocess(kit.write_workflow(tmp_path, lora_pass(), tiny_model,
                                                         with_pre(kit, max_seq_len=512)))
    assert at_limit["errors"] == []


def test_scaled_rope_stretches_the_context(tmp_path, tiny_model, kit):
    """A config.json that adds YaRN scaling (factor 4, as Qwen's docs suggest) allows 4x the positions."""
    import shutil

    model = tmp_path / "yarn"
    shutil.copytree(tiny_model, model)
    config = json.loads((model / "config.json").read_text())
    config.pop("original_max_position_embeddings", None)
    config["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0}
    (model / "config.json").write_text(json.dumps(config))
    ok = validate_in_subprocess(kit.write_workflow(tmp_path, lora_pass(), model, with_pre(kit, max_seq_len=2048)))
    assert ok["errors"] == []
    over = validate_in_subprocess(kit.write_workflow(tmp_path, lora_pass(), model, with_pre(kit, max_seq_len=2049)))
    assert "context length of 2048 tokens" in over["errors"][0]


@pytest.mark.parametrize("steps", [0, -5])
def test_max_steps_zero_or_below_minus_one_is_an_error(tmp_path, tiny_model, kit, steps):
    workflow = kit.write_workflow(tmp_path, lora_pass(training_args={"max_steps": steps}), tiny_model)
    result = kit.cli("run", "--config", str(workflow), "--no-progress")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: passes.lora.training_args.max_steps: ")
    assert "-1" in errors[0]  # the way to ask for epochs is named
    assert not (tmp_path / "out").exists()


def test_max_steps_minus_one_means_epochs(tmp_path, tiny_model, kit):
    workflow = kit.write_workflow(tmp_path, lora_pass(training_args={"max_steps": -1}), tiny_model)
    assert validate_in_subprocess(workflow)["errors"] == []


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A real BERT masked LM (transformers builds and saves it), a few kilobytes of weights."""
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path_factory.mktemp("bert") / "model"
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    """A real T5 (encoder-decoder: no causal-LM class in transformers), saved without its architectures."""
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("t5") / "model"
    config = T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    saved = json.loads((folder / "config.json").read_text())
    saved.pop("architectures", None)
    (folder / "config.json").write_text(json.dumps(saved))
    return folder


@pytest.mark.parametrize("pass_type", ["LoRA", "QLoRA"])
def test_a_masked_lm_is_refused_naming_the_model_path(tmp_path, tiny_bert, kit, pass_type):
    passes = {"lora": {"type": pass_type, "train_data_config": "tone_train"}}
    outcome = validate_in_subprocess(kit.write_workflow(tmp_path, passes, tiny_bert, with_pre(kit, max_seq_len=64)))
    causal = [e for e in outcome["errors"] if e.startswith("input_model.model_path: ")]
    assert len(causal) == 1
    assert "BertForMaskedLM" in causal[0] and f"{pass_type} (passes.lora)" in causal[0]
    assert outcome["heavy"] == []


def test_a_model_type_without_a_causal_lm_class_is_refused_through_the_cli(tmp_path, tiny_t5, kit):
    workflow = kit.write_workflow(tmp_path, lora_pass(), tiny_t5, with_pre(kit, max_seq_len=64))
    result = kit.cli("config", "validate", str(workflow))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: input_model.model_path: LoRA (passes.lora) fine-tunes")
    assert "'t5'" in errors[0]
    assert "Traceback" not in result.stderr


def test_no_stored_model_type_has_gained_a_causal_lm_class():
    """The generated table lists types transformers cannot load as a causal LM; a newer one may add classes."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    gained = model_types.NOT_CAUSAL_LM & set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    assert not gained, f"{sorted(gained)} now load as causal LMs; run: python -m olivine_lora.gen_model_types"
