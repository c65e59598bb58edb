"""``olivine run`` of a LoRA workflow on the tone data: quality, output folder, report, curves."""

from __future__ import annotations

import json

from olivine.testing import load_tone_rows


def lora_stage(run: dict) -> dict:
    return next(stage for stage in run["stages"] if stage["name"] == "lora")


# The LoRA issue's bar: held-out accuracy of the tiny Phi-3 fine-tuned on the tone data.
QUALITY_BAR = 0.9


def test_fine_tuned_tiny_model_answers_held_out_phrases(trained_run, tiny_model, kit):
    accuracy = kit.greedy_accuracy(tiny_model, trained_run["out"] / "model", load_tone_rows("test"))
    assert accuracy >= QUALITY_BAR


def test_output_is_a_peft_adapter_with_its_tokenizer_and_base(trained_run, tiny_model):
    model = trained_run["out"] / "model"
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= {p.name for p in model.iterdir()}
    output = trained_run["run"]["output_model"]
    assert output["format"] == "hf+adapter"
    assert output["base_model"] == str(tiny_model)
    config = json.loads((model / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (16, 32)
    assert sorted(config["target_modules"]) == ["down_proj", "embed_tokens", "gate_up_proj", "o_proj", "qkv_proj"]


def test_report_has_loss_and_eval_curves_old_name_notes_and_speed(trained_run):
    report = lora_stage(trained_run["run"])["report"]
    assert [p["step"] for p in report["loss"]] == list(range(50, 801, 50))
    assert [p["step"] for p in report["eval_loss"]] == [200, 400, 600, 800]
    assert report["loss"][-1]["loss"] < report["loss"][0]["loss"]
    assert "training_args.evaluation_strategy -> eval_strategy (renamed in transformers)" in report["notes"]
    assert "training_args.warmup_ratio -> warmup_steps (renamed in transformers)" in report["notes"]
    assert report["train_tokens_per_second"] > 0
    assert report["effective_batch"] == 4 and report["forwards_per_step"] == 1.0


def test_curves_image_and_tensorboard_events_are_beside_the_model(trained_run):
    out = trained_run["out"]
    chart = (out / "lora-loss.svg").read_text()
    assert chart.startswith("<svg") and chart.count("<polyline") == 2  # train and eval loss
    events = list((out / "lora-tensorboard").glob("events.out.tfevents.*"))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    assert [e.step for e in accumulator.Scalars("eval/loss")] == [200, 400, 600, 800]
