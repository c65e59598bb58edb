"""A run killed mid-training (SIGKILL) continues from its last checkpoint and ends where an unbroken run ends."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import torch
from olivine import DataConfig, ModelRef, PassContext
from olivine_lora.passes import LoRA
from olivine_lora.run import train_adapter
from safetensors.torch import load_file

STEPS = 120
RESUMABLE = {
    "type": "LoRA", "train_data_config": "tone_train", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.1,
    "training_args": {"seed": 3, "learning_rate": 1e-3, "per_device_train_batch_size": 1,
                      "gradient_accumulation_steps": 4, "max_steps": STEPS, "save_steps": 10, "logging_steps": 10},
}


def wait_for_checkpoint(cache, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(cache.glob("checkpoints/*/step-*/state.json")):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def test_killed_training_resumes_from_its_checkpoint(tmp_path, tiny_model, kit):
    workflow = kit.write_workflow(tmp_path, {"lora": RESUMABLE}, tiny_model)
    command = [sys.executable, "-m", "olivine", "run", "--config", str(workflow), "--no-progress"]
    first = subprocess.Popen(command, env=kit.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_checkpoint(tmp_path / "cache", first), "no checkpoint before the run ended"
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / "run.json").exists()

    second = subprocess.run(command, env=kit.cli_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    report = next(stage for stage in run["stages"] if stage["name"] == "lora")["report"]
    resumed = report["resumed_from_step"]
    assert 10 <= resumed < STEPS and resumed % 10 == 0
    assert report["steps_run"] == STEPS - resumed
    assert f"resumed from the checkpoint at step {resumed} of {STEPS}" in report["notes"]
    assert [p["step"] for p in report["loss"]] == list(range(10, STEPS + 1, 10))  # curve restored, not restarted
    assert not list((tmp_path / "cache").glob("checkpoints/*/step-*"))  # cleaned once the pass finished

    # The same training without a kill, in this process: same curve, same weights.
    torch.set_num_threads(1)
    reference = tmp_path / "reference"
    config = LoRA.parse_config({k: v for k, v in RESUMABLE.items() if k != "type"}, "passes.lora")
    ctx = PassContext(output_dir=reference, workflow_dir=tmp_path, checkpoint_dir=reference / "ckpt",
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"), show_progress=False)
    reference.mkdir()
    ref, _ = train_adapter(config, ModelRef(format="hf", path=tiny_model), ctx, quantized=False)
    assert ctx.report["loss"] == report["loss"]
    resumed_weights = load_file(tmp_path / "out" / "model" / "adapter_model.safetensors")
    unbroken_weights = load_file(ref.path / "adapter_model.safetensors")
    assert resumed_weights.keys() == unbroken_weights.keys()
    for name, value in unbroken_weights.items():
        torch.testing.assert_close(resumed_weights[name], value, rtol=0, atol=1e-6)
