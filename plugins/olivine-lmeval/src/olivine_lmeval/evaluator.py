"""LMEvaluator: lm-evaluation-harness tasks on an hf, hf+adapter or onnx-genai model, as one olivine metric."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Literal

from olivine import (
    Accelerator,
    ConfigError,
    EvalContext,
    Evaluator,
    ModelRef,
    StrictConfig,
    ValidationContext,
    resolve_path,
)
from pydantic import Field

from olivine_lmeval import results, tasks

# Olive's fields that change nothing here, and why (one note each when set).
NO_EFFECT = {
    "model_class": "the model's format picks the lm-eval model (hf: HFLM, onnx-genai: onnxruntime-genai)",
    "provider_options": "onnx-genai models run with the provider options their genai_config.json names",
}


class LMEvalConfig(StrictConfig):
    """Olive's LMEvaluator fields; ``include_path`` is olivine's (lm-eval's own name for task folders)."""

    tasks: list[str] = Field(..., min_length=1, description="lm-eval task, group or tag names, or paths of task "
                             "YAML files (relative to the workflow file)")
    batch_size: int = Field(1, gt=0, description="requests per forward pass (hf models; onnx-genai models score "
                            "one request at a time)")
    max_length: int | None = Field(None, gt=0, description="tokens of context kept per request, cut from the left "
                                   "(default: the model's context length)")
    limit: int | float | None = Field(None, gt=0, description="examples per task: a count, or a fraction below 1 "
                                      "(for quick checks; scores on a subset are not comparable to published ones)")
    include_path: list[str] | str | None = Field(None, description="folders of your own task YAML files (relative "
                                                 "to the workflow file), searched besides lm-eval's tasks")
    num_fewshot: int | None = Field(None, ge=0, description="few-shot examples per prompt (default: each task's)")
    bootstrap_iters: int = Field(100000, ge=0, description="bootstrap resamples for stderr of non-mean metrics; "
                                 "0 skips them")
    device: Literal["cpu", "gpu", "cuda"] | None = Field(None, description="run here instead of the target "
                                                         "system's accelerator device")
    execution_provider: str | None = Field(None, description="onnx-genai models: run on this execution provider "
                                           "instead of the target system's")
    model_class: Literal["hf", "ort", "ortgenai"] | None = Field(None, description="Olive's; no effect: "
                                                                 + NO_EFFECT["model_class"])
    provider_options: dict[str, Any] | None = Field(None, description="Olive's; no effect: "
                                                    + NO_EFFECT["provider_options"])

    def include_paths(self) -> list[str]:
        value = self.include_path
        return [] if value is None else [value] if isinstance(value, str) else list(value)


class _ByMetricName(dict):
    """Direction of a ``task/metric[/filter]`` sub type, looked up by its lm-eval metric name: goals ask
    ``higher_is_better.get(sub type, default)`` before any run, when the tasks' own directions are unknown."""

    def get(self, key: Any, default: Any = None) -> Any:
        parts = str(key).split("/")
        return super().get(parts[1] if len(parts) > 1 else key, default)


class LMEvaluator(Evaluator[LMEvalConfig]):
    """lm-evaluation-harness tasks (mmlu, hellaswag, your own YAML tasks): one sub type per task/metric."""

    name = "LMEvaluator"
    accepts = ("hf", "hf+adapter", "onnx-genai")
    # Sub types are the tasks' metrics (``hellaswag/acc_norm``): any name is accepted at validation.
    sub_types = ()
    # lm-eval's metrics where lower is better; every other metric (acc, f1, exact_match, ...) is higher.
    higher_is_better: ClassVar[dict[str, bool]] = _ByMetricName(
        perplexity=False, word_perplexity=False, byte_perplexity=False, bits_per_byte=False, ter=False)
    Config = LMEvalConfig

    def validate(self, ctx: ValidationContext) -> None:
        """Files the config names must exist; task names are looked up when evaluation starts (lm-eval's index
        of its ~15,000 tasks takes seconds to build)."""
        tasks.check_files(self.config, ctx.workflow_dir, f"{ctx.path}.user_config")

    def cache_inputs(self, workflow_dir: Path) -> list[Path]:
        """The user's task files and folders: editing one re-runs the evaluation instead of reusing it."""
        files = [resolve_path(t, workflow_dir) for t in self.config.tasks if tasks.is_file_spec(t)]
        return files + [resolve_path(folder, workflow_dir) for folder in self.config.include_paths()]

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        from olivine_lmeval.run import run_tasks

        cfg = self.config
        for key, why in NO_EFFECT.items():
            if getattr(cfg, key) is not None:
                ctx.note(f"{ctx.metric.name}: {key} has no effect in olivine ({why})")
        table = run_tasks(cfg, model, _accelerator(cfg, ctx.accelerator), ctx)
        values = results.sub_type_values(table)
        wanted = [sub.name for sub in ctx.metric.sub_types]
        if not wanted:
            return {name: values[name] for name in results.top_level(table, values)}
        missing = [name for name in wanted if name not in values]
        if missing:
            raise ConfigError(f"{ctx.path}.sub_types", f"lm-eval reported no {', '.join(map(repr, missing))}",
                              f"reported: {', '.join(sorted(values))}")
        return {name: values[name] for name in wanted}


def _accelerator(cfg: LMEvalConfig, accelerator: Accelerator) -> Accelerator:
    """The target's accelerator, with the device and execution provider the config asks for instead."""
    device = accelerator.device if cfg.device is None else "gpu" if cfg.device == "cuda" else cfg.device
    return dataclasses.replace(accelerator, device=device,
                               execution_provider=cfg.execution_provider or accelerator.execution_provider)
