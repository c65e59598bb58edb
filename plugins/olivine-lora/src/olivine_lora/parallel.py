"""Inside one worker process: the process group, the model wrapped for DDP or FSDP2, and the collectives.

Gradients are averaged over ranks by DDP and FSDP2 alike, so each rank scales its loss by the world size
and divides by the target tokens of the whole global batch: the averaged gradient is then exactly the one
a single process computes over the same samples.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from olivine_lora.batching import Batch
from olivine_lora.loss import loss_sum


class LossModule(torch.nn.Module):
    """The training forward as one module call, so DDP's and FSDP2's forward hooks see every forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch, autocast: torch.dtype | None, smoothing: float = 0.0) -> torch.Tensor:
        return loss_sum(self.model, batch, autocast, smoothing)


@dataclass
class World:
    rank: int
    size: int
    local_rank: int
    local_size: int
    kind: str = "ddp"  # or "fsdp"
    forward: Any = None  # the wrapped LossModule

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list) -> list:
        """This rank's share of a global batch: every size-th item from its rank, as DistributedSampler does."""
        return items[self.rank::self.size]

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def max_int(self, value: int) -> int:
        tensor = torch.tensor([value], dtype=torch.long, device=self.device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return int(tensor.item())

    def agree(self, value: int) -> bool:
        """True when every rank holds the same ``value``."""
        return self.max_int(value) == -self.max_int(-value)

    def device(self) -> str:
        return f"cuda:{self.local_rank}" if dist.get_backend() == "nccl" else "cpu"

    def sync(self, last: bool):
        """Gradients are exchanged on a step's last backward only."""
        if self.kind == "fsdp":
            self.forward.set_requires_gradient_sync(last)
            return contextlib.nullcontext()
        return contextlib.nullcontext() if last else self.forward.no_sync()

    def barrier(self) -> None:
        dist.barrier()


def init(backend: str | None, timeout_s: float | None) -> World:
    """Join the process group the launcher described in the environment (RANK, WORLD_SIZE, MASTER_ADDR...)."""
    cuda = torch.cuda.is_available() and backend != "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    kwargs: dict[str, Any] = {"backend": backend or ("nccl" if cuda else "gloo")}
    if timeout_s:
        kwargs["timeout"] = timedelta(seconds=timeout_s)
    if cuda:
        kwargs["device_id"] = torch.device("cuda", local_rank)
    dist.init_process_group(**kwargs)
    return World(dist.get_rank(), dist.get_world_size(), local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def close() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(world: World, model, args, reshard: bool | None, autocast: torch.dtype | None) -> None:
    """DDP, or FSDP2 per decoder layer and at the root when ``reshard`` is not None; sets ``world.forward``."""
    module = LossModule(model)
    if reshard is None:
        from torch.nn.parallel import DistributedDataParallel

        # Every rank loaded the same base from disk: broadcasting only the trainable weights is enough.
        frozen = [f"model.{name}" for name, p in model.named_parameters() if not p.requires_grad]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, frozen)
        options: dict[str, Any] = {"find_unused_parameters": bool(args_value(args, "ddp_find_unused_parameters",
                                                                            False))}
        for key, name in (("bucket_cap_mb", "ddp_bucket_cap_mb"), ("broadcast_buffers", "ddp_broadcast_buffers")):
            if getattr(args, name, None) is not None:  # only when set: DDP's own defaults otherwise
                options[key] = getattr(args, name)
        ddp = DistributedDataParallel(module, **options)
        if args_value(args, "ddp_static_graph", False):
            ddp._set_static_graph()
        world.kind, world.forward = "ddp", ddp
        return
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    # bf16 weights beside fp32 LoRA weights: gather both in the compute dtype, reduce gradients in fp32.
    policy = MixedPrecisionPolicy(param_dtype=autocast, reduce_dtype=torch.float32) if autocast else None
    kwargs: dict[str, Any] = {"reshard_after_forward": reshard}
    if policy is not None:
        kwargs["mp_policy"] = policy
    layer_types = set(getattr(model.get_base_model(), "_no_split_modules", None) or [])
    for sub in model.modules():
        if type(sub).__name__ in layer_types:
            fully_shard(sub, **kwargs)
    fully_shard(module, **kwargs)
    world.kind, world.forward = "fsdp", module


def args_value(args, name: str, default):
    value = getattr(args, name, None)
    return default if value is None else value


def full_trainable_state(model) -> dict[str, torch.Tensor]:
    """The trainable weights whole, on CPU, on every rank (FSDP2 holds shards: each is gathered)."""
    from torch.distributed.tensor import DTensor

    state = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            tensor = param.full_tensor() if isinstance(param, DTensor) else param.detach()
            state[name] = tensor.cpu().clone()
    return state
