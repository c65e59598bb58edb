"""Checkpoints are untrusted input: a planted pickle never runs, a damaged checkpoint is skipped for the one
before it, and a checkpoint that cannot be written is a one-line error naming it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from olivine import DataConfig, ModelRef, OlivineError, PassContext
from olivine import file_hash as _hash
from olivine_lora.passes import LoRA
from olivine_lora.run import train_adapter
from safetensors.torch import load_file

STEPS = 30
CONFIG = {"train_data_config": "tone_train", "lora_r": 4, "lora_alpha": 8,
          "training_args": {"seed": 1, "learning_rate": 1e-3, "per_device_train_batch_size": 2,
                            "max_steps": STEPS, "save_steps": 10, "logging_steps": 10}}


class Planted:
    """What an attacker with write access to a shared cache would leave: unpickling it runs a command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def train(kit, folder: Path, model: Path, checkpoints: Path):
    folder.mkdir(parents=True)
    config = LoRA.parse_config(CONFIG, "passes.lora")
    ctx = PassContext(output_dir=folder, workflow_dir=folder, checkpoint_dir=checkpoints, show_progress=False,
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"))
    ref, _ = train_adapter(config, ModelRef(format="hf", path=model), ctx, quantized=False)
    return load_file(ref.path / "adapter_model.safetensors"), ctx.report


def rewrite(checkpoint: Path, name: str, write) -> None:
    """Replace one file and record its new size and hash, as an attacker who read the format would."""
    write(checkpoint / name)
    state = json.loads((checkpoint / "state.json").read_text())
    state["files"][name] = {"size": (checkpoint / name).stat().st_size, "blake2b": _hash(checkpoint / name)}
    (checkpoint / "state.json").write_text(json.dumps(state))


@pytest.fixture(scope="module")
def unbroken(tiny_model, kit, tmp_path_factory):
    """A full run that leaves checkpoints at steps 10 and 20 (the last step is not checkpointed)."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("unbroken")
    weights, report = train(kit, folder / "run", tiny_model, folder / "ckpt")
    assert sorted(p.name for p in (folder / "ckpt").iterdir()) == ["step-000000010", "step-000000020"]
    return folder / "ckpt", weights


def copy_checkpoints(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def assert_same_weights(got, want):
    assert got.keys() == want.keys()
    for name, value in want.items():
        torch.testing.assert_close(got[name], value, rtol=0, atol=1e-6)


def test_planted_pickle_never_runs_and_the_previous_checkpoint_is_used(tmp_path, tiny_model, kit, unbroken):
    checkpoints = copy_checkpoints(unbroken[0], tmp_path / "ckpt")
    marker = tmp_path / "code-ran"
    latest = checkpoints / "step-000000020"
    rewrite(latest, "training.pt", lambda path: torch.save({"optimizer": Planted(marker)}, path))
    # The planted file is real: a pickle-trusting load would have run its command.
    subprocess.run([sys.executable, "-c", "import sys, torch; torch.load(sys.argv[1], weights_only=False)",
                    str(latest / "training.pt")], check=False, capture_output=True)
    assert marker.exists(), "the planted pickle should run code when unpickled"
    marker.unlink()

    weights, report = train(kit, tmp_path / "run", tiny_model, checkpoints)

    assert not marker.exists()
    skipped = [n for n in report["notes"] if "skipped" in n]
    assert len(skipped) == 1 and str(latest) in skipped[0]
    assert f"resumed from the checkpoint at step 10 of {STEPS}" in report["notes"]
    assert_same_weights(weights, unbroken[1])  # resumed from step 10, ends where the unbroken run ended


def test_truncated_latest_checkpoint_is_skipped_for_the_one_before(tmp_path, tiny_model, kit, unbroken):
    checkpoints = copy_checkpoints(unbroken[0], tmp_path / "ckpt")
    latest = checkpoints / "step-000000020"
    os.truncate(latest / "trainable.pt", 100)

    weights, report = train(kit, tmp_path / "run", tiny_model, checkpoints)

    assert any(str(latest) in n and "trainable.pt" in n for n in report["notes"])
    assert report["resumed_from_step"] == 10
    assert_same_weights(weights, unbroken[1])


def test_checkpoint_of_the_older_pickled_format_is_not_loaded(tmp_path, tiny_model, kit, unbroken):
    checkpoints = copy_checkpoints(unbroken[0], tmp_path / "ckpt")
    for step in checkpoints.iterdir():
        state = json.loads((step / "state.json").read_text())
        (step / "state.json").write_text(json.dumps({"step": state["step"], "history": state["history"]}))

    weights, report = train(kit, tmp_path / "run", tiny_model, checkpoints)

    assert sum("skipped" in n for n in report["notes"]) == 2
    assert report["resumed_from_step"] == 0
    assert_same_weights(weights, unbroken[1])


def test_checkpoint_on_a_full_disk_is_one_error_naming_it(tmp_path, tiny_model, kit):
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root or a user namespace)")
    try:
        with pytest.raises(OlivineError) as raised:
            train(kit, tmp_path / "run", tiny_model, mount / "ckpt")
        assert str(mount / "ckpt" / "step-000000010") in str(raised.value)
        assert "\n" not in str(raised.value)
        assert [p.name for p in (mount / "ckpt").iterdir()] == []  # nothing half-written left behind
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)  # lazy: a closed handle may linger
