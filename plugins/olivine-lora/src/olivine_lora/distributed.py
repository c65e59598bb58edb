"""The ``distributed`` section of a LoRA/QLoRA pass and the checks on it, without importing torch.

Process and node counts use torchrun's names (``nproc_per_node``, ``nnodes``, ``rdzv_endpoint``), so a
user who knows torchrun knows these; how each process trains (DDP or FSDP2) comes from the Trainer's own
``training_args`` names (``ddp_*``, ``fsdp``, ``fsdp_config``).
"""

from __future__ import annotations

from typing import Any, Literal

from olivine import ConfigError, StrictConfig
from pydantic import Field

# The Trainer's fsdp options olivine acts on; the others have no FSDP2 counterpart here.
FSDP_OPTIONS = {"full_shard": True, "shard_grad_op": False, "auto_wrap": None}
FSDP_UNSUPPORTED = {"offload": "CPU offload", "hybrid_shard": "hybrid sharding",
                    "hybrid_shard_zero2": "hybrid sharding", "no_shard": "no_shard (use DDP: leave fsdp unset)"}


class DistributedConfig(StrictConfig):
    """Train across several processes (and nodes) with torch.distributed, launched by olivine itself."""

    nproc_per_node: int | Literal["auto"] = Field(
        1, description="Processes on this node: one per GPU on CUDA (auto: every visible GPU), or CPU processes "
                       "with the gloo backend.")
    nnodes: int = Field(1, ge=1, description="Nodes taking part; each runs the same `olivine run` command.")
    rdzv_endpoint: str | None = Field(
        None, description="host:port where the nodes meet (torch's c10d rendezvous); required when nnodes > 1.")
    rdzv_id: str | None = Field(
        None, description="Rendezvous id shared by the nodes of one run (default: the pass's cache key).")
    rdzv_timeout: int = Field(900, ge=1, description="Seconds to wait for every node to join.")
    node_rank: int | None = Field(
        None, ge=0, description="This node's rank (0 .. nnodes-1), as a scheduler numbering its nodes gives it "
                                "(AzureML's NODE_RANK): a static rendezvous at rdzv_endpoint, the node of rank 0 "
                                "hosting it and running rank 0. Unset: nodes join in any order.")

    def processes(self, cuda_devices: int) -> int:
        if self.nproc_per_node == "auto":
            return max(cuda_devices, 1)
        return self.nproc_per_node

    def is_distributed(self) -> bool:
        return self.nproc_per_node != 1 or self.nnodes > 1


# Trainer fields this module acts on: not reported as "no effect" (ddp_* are already infrastructure).
HONOURED_FIELDS = ("fsdp", "fsdp_config")


def inert(names: list[str]) -> list[str]:
    """``training_args.inert_fields()`` less the distribution fields honoured here."""
    return [name for name in names if name not in HONOURED_FIELDS]


def fsdp_reshard(fsdp: Any) -> bool | None:
    """None: no FSDP; else FSDP2's reshard_after_forward (full_shard: True, shard_grad_op: False)."""
    options = _options(fsdp)
    if not options:
        return None
    return not ("shard_grad_op" in options and "full_shard" not in options)


def _options(fsdp: Any) -> list[str]:
    if fsdp in (None, False, "", []):
        return []
    if fsdp is True:
        return ["full_shard"]
    if isinstance(fsdp, str):
        return fsdp.split()
    return [str(o) for o in fsdp]


def config_errors(cfg, path: str, quantized: bool) -> list[ConfigError]:
    """Before any work: DeepSpeed, FSDP options without a counterpart, QLoRA over FSDP, several nodes."""
    args, errors = cfg.training_args, []
    if getattr(args, "deepspeed", None):
        errors.append(ConfigError(f"{path}.training_args.deepspeed", "DeepSpeed is not supported by olivine",
                                  "use fsdp (FSDP2) or leave it out for DDP, with distributed.nproc_per_node"))
    backend = getattr(args, "ddp_backend", None)
    if backend not in (None, "nccl", "gloo"):
        errors.append(ConfigError(f"{path}.training_args.ddp_backend", f"backend {backend!r} is not supported",
                                  "nccl (GPUs) or gloo (CPUs); unset: nccl on CUDA, else gloo"))
    fsdp = getattr(args, "fsdp", None)
    for option in _options(fsdp):
        if option in FSDP_UNSUPPORTED:
            errors.append(ConfigError(f"{path}.training_args.fsdp", f"{FSDP_UNSUPPORTED[option]} is not supported",
                                      f"supported: {', '.join(FSDP_OPTIONS)}"))
        elif option not in FSDP_OPTIONS:
            errors.append(ConfigError(f"{path}.training_args.fsdp", f"unknown FSDP option {option!r}",
                                      f"supported: {', '.join(FSDP_OPTIONS)}"))
    if quantized and _options(fsdp):
        errors.append(ConfigError(f"{path}.training_args.fsdp", "QLoRA cannot shard its 4-bit base with FSDP here",
                                  "leave fsdp out: QLoRA trains with DDP across processes"))
    dist = cfg.distributed
    if dist is not None:
        if isinstance(dist.nproc_per_node, int) and dist.nproc_per_node < 1:
            errors.append(ConfigError(f"{path}.distributed.nproc_per_node", "must be at least 1"))
        if dist.node_rank is not None and dist.node_rank >= dist.nnodes:
            errors.append(ConfigError(f"{path}.distributed.node_rank", f"must be below nnodes ({dist.nnodes})"))
        if dist.nnodes > 1 and not dist.rdzv_endpoint:
            errors.append(ConfigError(f"{path}.distributed.rdzv_endpoint", "required when nnodes > 1",
                                      "host:port of a machine every node reaches, e.g. node0:29400"))
    return errors
