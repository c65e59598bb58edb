"""A LoRA pass on an AzureML system of several nodes: one PyTorch-distribution job, validated by azure-ai-ml
offline, whose command run on two local "nodes" (with the variables AzureML's PyTorch distribution sets) trains
one adapter across both through olivine's own launcher."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from aml_runtime import plugin_env, run_command_job
from dry_run_helpers import dry_run, load_and_validate, mount_from_upload_list

LORA = {"lora": {"type": "LoRA", "train_data_config": "tone_train", "r": 4, "alpha": 8, "lora_dropout": 0,
                 "training_args": {"seed": 1, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1,
                                   "max_steps": 3, "logging_steps": 1}}}


def tone_data(train_file: Path) -> list[dict]:
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE

    return [{"name": "tone_train", "type": "HuggingfaceContainer",
             "load_dataset_config": {"data_name": "json", "data_files": str(train_file), "split": "train"},
             "pre_process_data_config": {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                                         "max_seq_len": 64}}]


def system(**extra) -> dict:
    return {"accelerators": ["cpu"], "aml_compute": "cpu-cluster",
            "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                                  "conda_file_path": "conda.yaml"}, **extra}


def test_a_lora_pass_on_several_nodes_is_a_pytorch_distribution_job(workflow):
    job_dir = dry_run(workflow(LORA, system=system(instance_count=2, process_count_per_instance=4))) / "lora"

    job = load_and_validate(job_dir / "job.yaml")

    assert job.resources.instance_count == 2
    assert job.distribution.type == "pytorch"
    assert job.distribution.process_count_per_instance == 1, "one olivine per node starts that node's processes"
    assert job.command.endswith(" --distributed")
    spec = json.loads((job_dir / "code" / "spec.json").read_text())
    assert spec["config"]["distributed"]["nproc_per_node"] == 4
    assert spec["config"]["distributed"]["nnodes"] == 2


def test_one_node_and_a_pass_without_distribution_stay_ordinary_jobs(workflow, test_plugin):
    scale = {"scale": {"type": "ScaleWeights", "factor": 3.0, "train_data_config": "tone_train"}}
    lora = load_and_validate(dry_run(workflow(LORA, system=system())) / "lora" / "job.yaml")
    assert lora.distribution is None and not lora.command.endswith("--distributed")

    out = dry_run(workflow(scale, system=system(instance_count=2)))
    scaled = load_and_validate(out / "scale" / "job.yaml")
    assert scaled.distribution is None and "--distributed" not in scaled.command


@pytest.mark.slow
def test_the_job_on_two_nodes_trains_one_adapter_with_rank_0s_node_writing_it(workflow, tmp_path, train_file):
    job_dir = dry_run(workflow(LORA, system=system(instance_count=2), data_configs=tone_data(train_file))) / "lora"
    job = load_and_validate(job_dir / "job.yaml")
    port = _free_port()
    runs: dict[int, object] = {}

    def node(rank: int) -> None:  # what AzureML's PyTorch distribution sets on each node (one process per node)
        env = {**plugin_env(), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "NODE_RANK": str(rank),
               "RANK": str(rank), "WORLD_SIZE": "2", "AZUREML_RUN_ID": job.name}
        runs[rank] = run_command_job(job, tmp_path / f"node{rank}", mount_from_upload_list(job_dir / "uploads.json"),
                                     env, timeout=240)

    threads = [threading.Thread(target=node, args=(rank,)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first, second = runs[0], runs[1]
    assert first.returncode == 0, first.log[-3000:]
    assert second.returncode == 0, second.log[-3000:]
    assert "this node's ranks finished" in second.log
    result = json.loads((first.outputs["output"] / "result.json").read_text())
    assert result["report"]["world_size"] == 2 and result["report"]["effective_batch"] == 4
    assert (first.outputs["output"] / "out" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (second.outputs["output"] / "result.json").exists(), "only rank 0's node writes the outputs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
