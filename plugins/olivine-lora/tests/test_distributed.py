"""Distributed LoRA on CPU: 2 gloo processes launched by olivine itself, against 1 process with the doubled batch.

The same global batch split over 2 processes (DDP, or FSDP2 sharding the base) gives the losses and the
adapter of 1 process; rank 0 alone writes the adapter; the other rank's log is named in the report.
"""

from __future__ import annotations

import os

import pytest
import torch
from olivine import ConfigError, ConfigErrors, ValidationContext
from olivine_lora.passes import LoRA, QLoRA

pytestmark = pytest.mark.slow


def _config(processes: int, batch: int, **training):
    raw = {"train_data_config": "tone_train", "r": 4, "alpha": 8, "lora_dropout": 0,  # dropout differs by rank
           "training_args": {"seed": 1, "learning_rate": 2e-3, "per_device_train_batch_size": batch,
                             "gradient_accumulation_steps": 2, "max_steps": 3, "logging_steps": 1, **training}}
    if processes != 1:
        raw["distributed"] = {"nproc_per_node": processes}
    return LoRA.parse_config(raw, "passes.lora")


def _train(folder, tiny_model, kit, config):
    return kit.run_pass(config, folder, tiny_model, folder / "checkpoints")


@pytest.fixture(scope="module")
def single(tiny_model, kit, tmp_path_factory):
    """One process, batch 4 x accumulation 2."""
    return _train(tmp_path_factory.mktemp("single"), tiny_model, kit, _config(1, 4))


def _assert_same_training(report, single, ref):
    from safetensors.torch import load_file

    one_ref, one = single
    assert report["world_size"] == 2 and report["effective_batch"] == one["effective_batch"] == 8
    assert [p["step"] for p in report["loss"]] == [p["step"] for p in one["loss"]] == [1, 2, 3]
    for mine, theirs in zip(report["loss"], one["loss"], strict=True):
        assert mine["loss"] == pytest.approx(theirs["loss"], abs=1e-4)
    assert report["worker_logs"] == ["logs/rank-1.log"]
    assert (ref.path.parent / "logs" / "rank-1.log").is_file()
    weights, reference = load_file(ref.path / "adapter_model.safetensors"), load_file(
        one_ref.path / "adapter_model.safetensors")
    assert weights.keys() == reference.keys()
    for name, value in reference.items():
        torch.testing.assert_close(weights[name], value, rtol=0, atol=1e-4)


def test_two_ddp_processes_train_as_one_with_the_doubled_batch(tmp_path, tiny_model, kit, single):
    ref, report = _train(tmp_path, tiny_model, kit, _config(2, 2))
    assert report["parallelism"] == "ddp"
    _assert_same_training(report, single, ref)


def test_fsdp_shards_the_base_and_saves_a_whole_adapter(tmp_path, tiny_model, kit, single):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ref, report = _train(tmp_path, tiny_model, kit, _config(2, 2, fsdp="full_shard auto_wrap"))
    assert report["parallelism"] == "fsdp"
    _assert_same_training(report, single, ref)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), ref.path).eval()
    ids = torch.tensor([[1, 5, 9, 14, 3, 7]])
    with torch.no_grad():
        adapted = model(input_ids=ids).logits
        merged = model.merge_and_unload()(input_ids=ids).logits
    torch.testing.assert_close(merged, adapted, rtol=1e-4, atol=1e-4)


def test_more_processes_than_cores_is_a_config_error(tmp_path, tiny_model, kit):
    cores = len(os.sched_getaffinity(0))
    with pytest.raises(ConfigError) as error:
        _train(tmp_path, tiny_model, kit, _config(cores + 1, 1))
    assert error.value.path == "passes.lora.distributed.nproc_per_node"
    assert not list(tmp_path.rglob("spec.json"))  # refused before any worker started


@pytest.mark.parametrize(("cls", "training", "key"), [
    (LoRA, {"deepspeed": "ds_config.json"}, "training_args.deepspeed"),
    (LoRA, {"fsdp": "full_shard offload"}, "training_args.fsdp"),
    (LoRA, {"ddp_backend": "mpi"}, "training_args.ddp_backend"),
    (QLoRA, {"fsdp": "full_shard"}, "training_args.fsdp"),
])
def test_unsupported_distribution_is_refused_at_validation(tmp_path, cls, training, key):
    config = cls.parse_config({"train_data_config": "tone_train", "training_args": training,
                               "distributed": {"nproc_per_node": 2}}, "passes.p")
    errors = cls(config).config_errors(ValidationContext(path="passes.p", workflow_dir=tmp_path,
                                                         data_config_names=("tone_train",)))
    assert [e.path for e in errors if not e.path.endswith(".type")] == [f"passes.p.{key}"]


def test_several_nodes_need_a_rendezvous_endpoint(tmp_path):
    config = LoRA.parse_config({"train_data_config": "tone_train", "distributed": {"nnodes": 2}}, "passes.p")
    with pytest.raises(ConfigErrors) as error:
        LoRA(config).validate(ValidationContext(path="passes.p", workflow_dir=tmp_path,
                                                data_config_names=("tone_train",)))
    assert [e.path for e in error.value.errors] == ["passes.p.distributed.rdzv_endpoint"]
