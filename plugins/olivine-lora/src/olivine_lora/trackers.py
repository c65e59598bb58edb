"""``report_to``: the training curves sent to tensorboard, MLflow or Weights & Biases while training runs.

The Trainer's integration callbacks set the conventions a user already has in their environment:
MLflow reads ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME`` and ``MLFLOW_RUN_ID`` (continue that run)
and gets ``loss``, ``learning_rate`` and ``eval_loss``; W&B reads ``WANDB_PROJECT`` (default
``huggingface``), ``WANDB_MODE`` (``offline``) and ``WANDB_DIR`` and gets ``train/loss``,
``train/learning_rate`` and ``eval/loss`` against ``train/global_step``. A run the user already started
(``mlflow.start_run``, ``wandb.init``) is logged into and left open. Only rank 0 reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from olivine import OlivineError

from olivine_lora.curves import Tensorboard

MAX_PARAM = 250  # longer values (long target module lists) are left out of the run's parameters


class TrackerError(OlivineError):
    """A tracker named in report_to could not start (server unreachable, bad credentials); names the key."""


class Trackers:
    """Every tracker report_to asks for, behind the one ``scalar``/``close`` the loop calls."""

    def __init__(self, sinks: list[Any]):
        self.sinks = sinks

    def scalar(self, tag: str, value: float, step: int) -> None:
        for sink in self.sinks:
            sink.scalar(tag, value, step)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def open_trackers(names: list[str], tensorboard_dir: Path | None, resume_step: int, run_name: str,
                  params: dict[str, Any], where: str, note: Callable[[str], None]) -> Trackers:
    """Start the trackers ``names`` (from ``TrainingArgs.trackers()``); none on ranks other than 0."""
    if _rank() != 0:
        return Trackers([])
    sinks: list[Any] = [Tensorboard(tensorboard_dir, resume_step)] if "tensorboard" in names else []
    for name, kind in (("mlflow", _MLflow), ("wandb", _Wandb)):
        if name in names:
            try:
                sinks.append(kind(run_name, _flat(params), note))
            except Exception as exc:  # noqa: BLE001 - the library's own errors: one line naming the key
                for sink in sinks:
                    sink.close()
                first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
                raise TrackerError(f"{where}: {name} could not start a run: {first}") from exc
    return Trackers(sinks)


class _MLflow:
    NAMES = {"train/loss": "loss", "train/learning_rate": "learning_rate", "eval/loss": "eval_loss"}

    def __init__(self, run_name: str, params: dict[str, str], note: Callable[[str], None]):
        import mlflow

        self.mlflow = mlflow
        run = mlflow.active_run()
        self.own = run is None
        if run is None:
            experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME")
            if experiment:
                mlflow.set_experiment(experiment)
            continued = os.environ.get("MLFLOW_RUN_ID")
            run = mlflow.start_run(run_id=continued or None, run_name=None if continued else run_name)
            if not continued:  # a continued run has its parameters already; MLflow refuses changed ones
                mlflow.log_params(params)
        note(f"report_to mlflow: run {run.info.run_id} of experiment {run.info.experiment_id} "
             f"at {mlflow.get_tracking_uri()}")

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.mlflow.log_metric(self.NAMES.get(tag, tag), value, step=step)

    def close(self) -> None:
        if self.own:
            self.mlflow.end_run()


class _Wandb:
    def __init__(self, run_name: str, params: dict[str, str], note: Callable[[str], None]):
        import wandb

        self.wandb = wandb
        self.own = wandb.run is None
        run = wandb.init(project=os.environ.get("WANDB_PROJECT", "huggingface"), name=run_name, config=params) \
            if self.own else wandb.run
        run.define_metric("train/global_step")
        run.define_metric("*", step_metric="train/global_step", step_sync=True)
        note(f"report_to wandb: run {run.id} of project {run.project}")

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.wandb.log({tag: value, "train/global_step": step})

    def close(self) -> None:
        if self.own:
            self.wandb.finish()


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config as ``a.b`` = text, as trackers take parameters."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif value is not None and len(str(value)) <= MAX_PARAM:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def _rank() -> int:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)
