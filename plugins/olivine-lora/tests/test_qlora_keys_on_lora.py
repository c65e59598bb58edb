"""The Phi-3 cookbook's LoRA pass sets QLoRA's double_quant: accepted with a note, as Olive accepts it."""

from __future__ import annotations

import json

from olivine_lora.passes import LoRA, QLoRA

NOTE = "double_quant applies to QLoRA; this LoRA pass does not quantize"
# The cookbook's LoRA pass, as written (its "config" wrapper, Olive's old names, QLoRA's double_quant).
COOKBOOK_LORA = {
    "type": "LoRA",
    "config": {
        "target_modules": ["o_proj", "qkv_proj"], "double_quant": True, "lora_r": 64, "lora_alpha": 64,
        "lora_dropout": 0.1, "train_data_config": "tone_train", "eval_dataset_size": 0.3,
        "training_args": {
            "seed": 0, "data_seed": 42, "per_device_train_batch_size": 1, "per_device_eval_batch_size": 1,
            "gradient_accumulation_steps": 4, "gradient_checkpointing": False, "learning_rate": 0.0001,
            "num_train_epochs": 3, "max_steps": 10, "logging_steps": 10, "evaluation_strategy": "steps",
            "eval_steps": 187, "group_by_length": True, "adam_beta2": 0.999, "max_grad_norm": 0.3,
        },
    },
}


def test_the_cookbooks_lora_pass_validates(tmp_path, tiny_model, kit):
    from olivine import validate_workflow as validate

    workflow = tmp_path / "olive-config.json"
    workflow.write_text(json.dumps({
        "input_model": {"type": "PyTorchModel", "config": {"hf_config": {"model_name": str(tiny_model),
                                                                         "task": "text-generation"}}},
        "data_configs": [kit.tone_data_config()], "passes": {"lora": COOKBOOK_LORA},
        "engine": {"cache_dir": "cache", "output_dir": "out"}}))

    plan = validate(workflow)

    (lora,) = plan.passes
    assert lora.instance.config.notes() == [NOTE]


def test_qlora_keys_do_not_change_a_lora_cache_key_unless_set():
    plain = LoRA.parse_config({"train_data_config": "d"}, "passes.lora")
    assert set(LoRA(plain).cache_config()).isdisjoint({"double_quant", "quant_type", "compute_dtype"})
    noted = LoRA.parse_config({"train_data_config": "d", "double_quant": True, "quant_type": "fp4"}, "passes.lora")
    again = LoRA.parse_config(noted.model_dump(mode="json"), "passes.lora")
    assert again.notes() == noted.notes() == [NOTE, "quant_type applies to QLoRA; this LoRA pass does not quantize"]
    assert QLoRA.parse_config({"train_data_config": "d", "double_quant": True}, "passes.qlora").notes() == []


def test_the_note_reaches_the_pass_report(tmp_path, tiny_model, kit):
    _, _, report = kit.train_briefly(LoRA, tmp_path, tiny_model, double_quant=True)

    assert NOTE in report["notes"]
