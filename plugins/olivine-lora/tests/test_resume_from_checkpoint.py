"""training_args.resume_from_checkpoint: a new workflow continues from a checkpoint another training saved."""

from __future__ import annotations

import json
import logging
import os
import shutil

import torch
from olivine import DataConfig, ModelRef, PassContext
from olivine_lora.passes import LoRA
from olivine_lora.run import train_adapter
from safetensors.torch import load_file

STEPS = 20
LORA = {"train_data_config": "tone_train", "lora_r": 4, "lora_alpha": 8,
        "training_args": {"seed": 5, "learning_rate": 1e-3, "per_device_train_batch_size": 1,
                          "gradient_accumulation_steps": 2, "max_steps": STEPS, "save_steps": 10,
                          "logging_steps": 5}}
KEY = "passes.lora.training_args.resume_from_checkpoint"


def first_training(tmp_path, kit, tiny_model):
    """20 steps in this process with checkpoints at step 10 kept in ``first/ckpt`` (no cache cleans them)."""
    torch.set_num_threads(1)
    folder = tmp_path / "first"
    folder.mkdir()
    config = LoRA.parse_config(LORA, "passes.lora")
    ctx = PassContext(output_dir=folder, workflow_dir=tmp_path, checkpoint_dir=folder / "ckpt",
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"), show_progress=False)
    ref, _ = train_adapter(config, ModelRef(format="hf", path=tiny_model), ctx, quantized=False)
    return ref, ctx.report, folder / "ckpt"


def resuming_workflow(folder, kit, tiny_model, checkpoint):
    folder.mkdir()
    args = {**LORA["training_args"], "resume_from_checkpoint": os.path.relpath(checkpoint, folder)}
    return kit.write_workflow(folder, {"lora": {"type": "LoRA", **LORA, "training_args": args}}, tiny_model)


def test_a_new_workflow_continues_from_the_named_checkpoint(tmp_path, kit, tiny_model):
    ref, unbroken, checkpoints = first_training(tmp_path, kit, tiny_model)
    step_10 = checkpoints / "step-000000010"
    assert (step_10 / "state.json").is_file()

    workflow = resuming_workflow(tmp_path / "second", kit, tiny_model, step_10)  # a path relative to it
    checked = kit.cli("config", "validate", str(workflow))
    assert checked.returncode == 0, checked.stderr
    assert "resume_from_checkpoint" not in checked.stdout + checked.stderr  # honoured: no "no effect" note
    result = kit.cli("run", str(workflow), "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((tmp_path / "second" / "out" / "run.json").read_text())
    report = next(stage for stage in run["stages"] if stage["name"] == "lora")["report"]
    assert (report["resumed_from_step"], report["steps_run"]) == (10, STEPS - 10)
    assert f"resumed from the checkpoint at step 10 of {STEPS}" in report["notes"]
    # The curve of the first 10 steps came with the checkpoint; the whole run is the unbroken one.
    assert report["loss"] == unbroken["loss"]
    resumed = load_file(tmp_path / "second" / "out" / "model" / "adapter_model.safetensors")
    for name, value in load_file(ref.path / "adapter_model.safetensors").items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6)


def test_a_damaged_or_missing_named_checkpoint_is_one_line(tmp_path, kit, tiny_model):
    _, _, checkpoints = first_training(tmp_path, kit, tiny_model)
    damaged = tmp_path / "damaged"
    shutil.copytree(checkpoints, damaged)  # a folder of checkpoints: its newest is used
    weights = damaged / "step-000000010" / "trainable.pt"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    result = kit.cli("run", str(resuming_workflow(tmp_path / "second", kit, tiny_model, damaged)), "--no-progress")
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and KEY in errors[0] and "trainable.pt" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr

    missing = resuming_workflow(tmp_path / "third", kit, tiny_model, tmp_path / "nowhere")
    checked = kit.cli("config", "validate", str(missing))
    assert checked.returncode == 2
    assert KEY in checked.stderr and "nowhere" in checked.stderr
