"""A distribution-aware pass (LoRA, QLoRA) on several nodes: one job with azure-ai-ml's PyTorch distribution.

AzureML starts the job's command once per node (``process_count_per_instance`` 1 in the job) and sets
MASTER_ADDR, MASTER_PORT and NODE_RANK there; olivine's own launcher then starts the system's
``process_count_per_instance`` processes on each node, as torchrun would, meeting at MASTER_ADDR:MASTER_PORT with
the node ranks AzureML gave (``olivine_job.py --distributed`` reads them: ``job_entry.node_settings``). A pass
is distribution-aware when its Config class has a ``distributed`` field (torchrun's names: nproc_per_node, nnodes,
rdzv_endpoint, node_rank).
"""

from __future__ import annotations

from typing import Any

from olivine_azureml.config import AzureMLConfig

SECTION = "distributed"
# AzureML starts one olivine per node; olivine starts that node's processes.
JOB_DISTRIBUTION = {"type": "pytorch", "process_count_per_instance": 1}


def nodes(config: AzureMLConfig) -> int:
    res = config.resources
    return res.instance_count if res and res.instance_count else config.instance_count


def aware(pass_) -> bool:
    return SECTION in getattr(type(pass_.config), "model_fields", {})


def shape(spec: dict[str, Any], config: AzureMLConfig, pass_) -> tuple[dict[str, Any], bool]:
    """The spec with its pass's ``distributed`` section sized to the system; and whether the job spans nodes.

    A pass without the field, or a system of one node and one process, leaves the spec as it is."""
    pass_config = spec.get("config")
    if not isinstance(pass_config, dict) or not aware(pass_):
        return spec, False
    own = dict(pass_config.get(SECTION) or {})
    count, per_node = nodes(config), config.process_count_per_instance
    if count == 1 and per_node is None:
        return spec, False
    section = {**own, "nnodes": count}
    if per_node is not None:
        section["nproc_per_node"] = per_node
    for key in ("rdzv_endpoint", "node_rank"):  # the job's nodes learn them from AzureML's environment
        section.pop(key, None)
    return {**spec, "config": {**pass_config, SECTION: section}}, count > 1

