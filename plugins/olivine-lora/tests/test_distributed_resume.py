"""Distributed runs resume: a 2-process DDP run whose worker is killed (SIGKILL) continues on re-run from the
checkpoint rank 0 wrote; an FSDP2 run writes checkpoints that resume under FSDP2 and in one process alike.

Each ends with the losses and the adapter of the same training run without a break (within float tolerance).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from olivine_lora.passes import LoRA
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

TRAINING = {"seed": 1, "learning_rate": 2e-3, "gradient_accumulation_steps": 2, "logging_steps": 1}


def _lora(processes: int, batch: int, steps: int, save_steps: int, **training) -> dict:
    raw = {"type": "LoRA", "train_data_config": "tone_train", "r": 4, "alpha": 8, "lora_dropout": 0,
           "training_args": {**TRAINING, "per_device_train_batch_size": batch, "max_steps": steps,
                             "save_steps": save_steps, **training}}
    if processes != 1:
        raw["distributed"] = {"nproc_per_node": processes}
    return raw


def _train(folder, checkpoints, tiny_model, kit, raw: dict):
    config = LoRA.parse_config({k: v for k, v in raw.items() if k != "type"}, "passes.lora")
    ref, report = kit.run_pass(config, folder, tiny_model, checkpoints)
    return ref.path, report


def _assert_same(report, adapter, reference_report, reference_adapter, atol: float):
    assert [p["step"] for p in report["loss"]] == [p["step"] for p in reference_report["loss"]]
    for mine, theirs in zip(report["loss"], reference_report["loss"], strict=True):
        assert mine["loss"] == pytest.approx(theirs["loss"], abs=atol)
    weights = load_file(adapter / "adapter_model.safetensors")
    reference = load_file(reference_adapter / "adapter_model.safetensors")
    assert weights.keys() == reference.keys()
    for name, value in reference.items():
        torch.testing.assert_close(weights[name], value, rtol=0, atol=atol)


def _copy_checkpoints(source, target):
    target.mkdir(parents=True)
    for folder in source.glob("step-*"):
        shutil.copytree(folder, target / folder.name)


def _wait_for(pattern_root, pattern: str, process: subprocess.Popen, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(pattern_root.glob(pattern))
        if found:
            return found[0]
        if process.poll() is not None:
            return None
        time.sleep(0.02)
    return None


def test_a_killed_ddp_worker_then_a_rerun_resumes_from_rank_0s_checkpoint(tmp_path, tiny_model, kit):
    steps = 40
    lora = _lora(2, 1, steps, 4)
    workflow = kit.write_workflow(tmp_path, {"lora": lora}, tiny_model)
    command = [sys.executable, "-m", "olivine", "run", "--config", str(workflow), "--no-progress"]
    first = subprocess.Popen(command, env=kit.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert _wait_for(tmp_path / "cache", "checkpoints/*/step-*/state.json", first), "no checkpoint written"
        pid_file = next((tmp_path / "cache").glob("checkpoints/*/launch/rank-1.pid"))
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode not in (0, None)
    error = [line for line in stderr.splitlines() if "rank 1 of 2 stopped" in line]
    assert error and "SIGKILL" in error[0] and "rank-1.log" in error[0], stderr[-2000:]
    assert not (tmp_path / "out" / "run.json").exists(), "nothing finished"

    second = subprocess.run(command, env=kit.cli_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    report = next(stage for stage in run["stages"] if stage["name"] == "lora")["report"]
    resumed = report["resumed_from_step"]
    assert 4 <= resumed < steps and resumed % 4 == 0
    assert report["steps_run"] == steps - resumed and report["world_size"] == 2

    # The same 2-process training without a break
    adapter, unbroken = _train(tmp_path / "unbroken", tmp_path / "unbroken-ckpt", tiny_model, kit, lora)
    _assert_same(report, tmp_path / "out" / "model", unbroken, adapter, atol=1e-5)


def test_fsdp_checkpoints_resume_under_fsdp_and_in_one_process(tmp_path, tiny_model, kit):
    from olivine_lora import checkpoint

    fsdp = _lora(2, 2, 6, 3, fsdp="full_shard auto_wrap")
    adapter, unbroken = _train(tmp_path / "fsdp", tmp_path / "ckpt", tiny_model, kit, fsdp)
    assert unbroken["parallelism"] == "fsdp"
    written = checkpoint.candidates(tmp_path / "ckpt")
    assert [p.name for p in written] == ["step-000000003"]
    # olivine's format: a manifest with every file's hash, tensors and plain containers only
    state = json.loads((written[0] / "state.json").read_text())
    assert set(state["files"]) == {"trainable.pt", "training.pt"}
    weights = torch.load(written[0] / "trainable.pt", weights_only=True)
    assert weights and all(not hasattr(t, "device_mesh") for t in weights.values()), "whole tensors, not shards"
    optimizer = torch.load(written[0] / "training.pt", weights_only=True)["optimizer"]
    assert sorted(optimizer["state"]) == list(range(len(weights))), "every trainable weight's Adam state"

    _copy_checkpoints(tmp_path / "ckpt", tmp_path / "ckpt-fsdp")
    resumed_adapter, resumed = _train(tmp_path / "fsdp-resumed", tmp_path / "ckpt-fsdp", tiny_model, kit, fsdp)
    assert (resumed["resumed_from_step"], resumed["steps_run"]) == (3, 3)
    _assert_same(resumed, resumed_adapter, unbroken, adapter, atol=1e-5)

    # the same checkpoint in one process with the doubled batch: the same global batch, so the same run
    _copy_checkpoints(tmp_path / "ckpt", tmp_path / "ckpt-one")
    one_adapter, one = _train(tmp_path / "one", tmp_path / "ckpt-one", tiny_model, kit, _lora(1, 4, 6, 3))
    assert one["resumed_from_step"] == 3
    _assert_same(one, one_adapter, unbroken, adapter, atol=1e-4)


def _running(pid: int) -> bool:
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has exited; nobody has reaped it yet


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the workers")
def test_workers_stop_when_olivine_run_itself_is_killed(tmp_path, tiny_model, kit):
    workflow = kit.write_workflow(tmp_path, {"lora": _lora(2, 1, 400, 200)}, tiny_model)
    command = [sys.executable, "-m", "olivine", "run", "--config", str(workflow), "--no-progress"]
    launcher = subprocess.Popen(command, env=kit.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(tmp_path / "cache", "checkpoints/*/launch/rank-1.pid", launcher), "no worker started"
        time.sleep(0.5)  # both ranks are up
        pids = [int(p.read_text().split()[0]) for p in (tmp_path / "cache").glob("checkpoints/*/launch/rank-*.pid")]
        assert len(pids) == 2 and all(map(_running, pids))
        launcher.kill()  # SIGKILL: the launcher gets no chance to stop its workers
        launcher.wait()
        deadline = time.monotonic() + 30
        while any(map(_running, pids)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_running, pids)), "a worker outlived the olivine run that launched it"
    finally:
        if launcher.poll() is None:
            launcher.kill()
