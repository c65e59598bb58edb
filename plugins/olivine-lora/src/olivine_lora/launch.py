"""Launch a distributed LoRA/QLoRA run from ``olivine run``: torch's elastic launcher starts the workers.

The workers run ``python -m olivine_lora.worker spec.json``. Rank 0 keeps this process's terminal (its
progress bar is the run's); the other ranks write to ``logs/rank-<n>.log`` beside the checkpoints, and
those logs are copied into the pass output when the run finishes. When a worker dies the launcher stops
the others and this raises one line naming the rank and its log; the engine then caches nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from pathlib import Path

import torch
from olivine import ConfigError, ModelRef, OlivineError, PassContext, PassError, pass_spec

from olivine_lora.distributed import DistributedConfig


class WorkerFailed(PassError):
    """A worker of a distributed run stopped; every other worker was stopped with it."""


class WorkerError(OlivineError):
    """A user error a worker found (a ConfigError while loading, say), told as the worker told it."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class NodeFinished(OlivineError):
    """This node's ranks finished; the node running rank 0 writes the adapter and runs the later passes."""

    exit_code = 0


def run_distributed(cfg, model: ModelRef, ctx: PassContext, quantized: bool) -> ModelRef:
    from olivine_lora.passes import LoRA, QLoRA
    from olivine_lora.run import pass_path

    dist: DistributedConfig = cfg.distributed
    path = pass_path(ctx)
    backend = cfg.training_args.ddp_backend if hasattr(cfg.training_args, "ddp_backend") else None
    nproc = processes(dist, cfg.training_args.use_cpu or backend == "gloo", f"{path}.distributed.nproc_per_node")
    root = ctx.checkpoint_dir if ctx.checkpoint_dir is not None else Path(tempfile.mkdtemp(prefix="olivine-ddp-"))
    launch, logs = root / "launch", root / "logs"
    if dist.nnodes > 1:  # the checkpoint folder is shared by the nodes: each its own launch folder
        launch = launch / (f"node-{dist.node_rank}" if dist.node_rank is not None else socket.gethostname())
    shutil.rmtree(launch, ignore_errors=True)  # a previous attempt's result or errors must not be read
    launch.mkdir(parents=True)
    if dist.nnodes == 1:  # several nodes write their ranks' logs here: none may clear the others'
        shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    pass_ = (QLoRA if quantized else LoRA)(cfg)
    spec = {**pass_spec(pass_, model, ctx), "launch": str(launch), "logs": str(logs), "show_progress":
            ctx.show_progress, "backend": backend, "timeout": getattr(cfg.training_args, "ddp_timeout", None)}
    (launch / "spec.json").write_text(json.dumps(spec))
    _launch(dist, nproc, launch, root, path)
    result = launch / "result.json"
    if not result.is_file():
        raise NodeFinished(f"{path}: this node's ranks finished; the node running rank 0 writes the adapter")
    data = json.loads(result.read_text())
    ctx.report.update(data["report"])
    kept = _keep_logs(logs, ctx.output_dir / "logs")
    if kept:
        ctx.report["worker_logs"] = kept
    for line in data["report"].get("notes", []):
        ctx.logger.info(line)
    return ModelRef.from_json(data["ref"])


def processes(dist: DistributedConfig, cpu: bool, path: str) -> int:
    """Processes on this node; more than the node's GPUs (or, on CPU, its cores) is a ConfigError."""
    gpus = 0 if cpu or not torch.cuda.is_available() else torch.cuda.device_count()
    nproc = dist.processes(gpus)
    if gpus:
        if nproc > gpus:
            raise ConfigError(path, f"{nproc} processes asked for, this node has {gpus} GPUs",
                              "one process per GPU: set nproc_per_node to the GPU count, or auto")
        return nproc
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if nproc > cores:
        raise ConfigError(path, f"{nproc} processes asked for, this node has no GPU and {cores} CPU cores",
                          f"at most {cores} CPU processes (gloo)")
    return nproc


def _launch(dist: DistributedConfig, nproc: int, launch: Path, root: Path, path: str) -> None:
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    single = dist.nnodes == 1 and not dist.rdzv_endpoint
    # node_rank: the scheduler numbered the nodes (torchrun's static rendezvous, node 0 hosts the store)
    static = dist.node_rank is not None and not single
    config = LaunchConfig(
        min_nodes=dist.nnodes, max_nodes=dist.nnodes, nproc_per_node=nproc,
        run_id=dist.rdzv_id or (uuid.uuid4().hex if single else root.name),
        rdzv_backend="static" if static else "c10d",
        rdzv_configs={"rank": dist.node_rank} if static else {},
        rdzv_endpoint="localhost:0" if single else str(dist.rdzv_endpoint),
        rdzv_timeout=dist.rdzv_timeout, max_restarts=0, monitor_interval=0.5,
        logs_specs=DefaultLogsSpecs(log_dir=str(launch / "elastic")))
    try:
        elastic_launch(config, sys.executable)("-m", "olivine_lora.worker", str(launch / "spec.json"))
    except ChildFailedError as exc:
        raise _failure(exc.failures, launch, root / "logs", path) from None


def _failure(failures: dict, launch: Path, logs: Path, path: str) -> OlivineError:
    """A user error a worker reported, else the first rank that stopped, its reason and its log."""
    for rank in sorted(failures):
        told = launch / f"error-rank{rank}.json"
        if told.is_file():
            error = json.loads(told.read_text())
            if error.get("user"):
                return WorkerError(error["message"], int(error.get("exit_code", 2)))
    rank = min(failures, key=lambda r: (_consequence(launch, r), failures[r].timestamp, r))
    failure = failures[rank]
    where = "its output is above" if rank == 0 else f"its log: {logs / f'rank-{rank}.log'}"
    return WorkerFailed(f"{path}: rank {rank} of {len(failures) and _world(launch)} stopped "
                        f"({_reason(failure.exitcode, launch, rank)}); the other ranks were stopped; {where}")


# How gloo and NCCL report that another rank went away: the rank saying so is not the one that failed.
PEER_GONE = re.compile(r"connection (reset|closed) by peer|broken pipe|communicator was aborted|"
                       r"socket timeout|timed out|remote (worker|process)", re.IGNORECASE)


def _consequence(launch: Path, rank: int) -> int:
    """0: this rank died without a word (killed, crashed) or named its own error; 1: it only saw a peer go."""
    told = launch / f"error-rank{rank}.json"
    if not told.is_file():
        return 0
    return 1 if PEER_GONE.search(json.loads(told.read_text()).get("message", "")) else 0


def _world(launch: Path) -> str:
    sizes = [p.read_text().split()[1] for p in launch.glob("rank-*.pid") if len(p.read_text().split()) > 1]
    return sizes[0] if sizes else "?"


def _reason(exitcode: int, launch: Path, rank: int) -> str:
    told = launch / f"error-rank{rank}.json"
    if told.is_file():
        return json.loads(told.read_text())["message"][:300]
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def _keep_logs(logs: Path, target: Path) -> list[str]:
    kept = []
    for log in sorted(logs.glob("rank-*.log")):
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, target / log.name)
        kept.append(f"logs/{log.name}")
    return kept
