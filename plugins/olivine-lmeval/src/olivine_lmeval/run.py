"""Run lm-eval's ``simple_evaluate`` on a model: HFLM for transformers models, olivine's onnxruntime-genai
adapter for onnx-genai folders. Both load the model through the runtime olivine-runtimes registers, so
device, dtype, adapter and execution provider choices are those of every other olivine metric."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from olivine import Accelerator, EvalContext, ModelRef, get_plugins

from olivine_lmeval import tasks

if TYPE_CHECKING:
    from olivine_lmeval.evaluator import LMEvalConfig


def run_tasks(cfg: LMEvalConfig, model: ModelRef, accelerator: Accelerator, ctx: EvalContext) -> dict[str, Any]:
    """lm-eval's result table (``results``, ``group_subtasks``, ``n-samples``, ...)."""
    from lm_eval import simple_evaluate

    path = f"{ctx.path}.user_config"
    manager = tasks.task_manager(cfg, ctx.workflow_dir, path)
    runtime = get_plugins().runtimes.get(model.format, ctx.path)(model, accelerator, {})
    with _quiet_lm_eval():
        lm = _lm(runtime, model, cfg, ctx)
        table = simple_evaluate(model=lm, tasks=tasks.task_specs(cfg, ctx.workflow_dir), task_manager=manager,
                                limit=cfg.limit, num_fewshot=cfg.num_fewshot, bootstrap_iters=cfg.bootstrap_iters,
                                log_samples=False, batch_size=cfg.batch_size)
    samples = {task: counts.get("effective") for task, counts in (table.get("n-samples") or {}).items()}
    shown = ", ".join(f"{task} {n}" for task, n in sorted(samples.items()))
    ctx.note(f"{ctx.metric.name}: lm-eval on {model.format}, examples per task: {shown}"
             + (f" (limit {cfg.limit})" if cfg.limit is not None else ""))
    return table


def _lm(runtime: Any, model: ModelRef, cfg: LMEvalConfig, ctx: EvalContext) -> Any:
    if model.format == "onnx-genai":
        from olivine_lmeval.genai_lm import GenaiLM

        return GenaiLM(runtime, max_length=cfg.max_length, progress=ctx.progress, label=ctx.metric.name)
    from lm_eval.models.huggingface import HFLM

    # The runtime's model is already on its device in its dtype, with any adapter applied (a PeftModel).
    lm = HFLM(pretrained=runtime.model, tokenizer=runtime.tokenizer, batch_size=cfg.batch_size,
              max_length=cfg.max_length)
    if not ctx.show_progress:  # lm-eval calls these without disable_tqdm: its bars would print regardless
        for method in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
            setattr(lm, method, functools.partial(getattr(lm, method), disable_tqdm=True))
    return lm


@contextlib.contextmanager
def _quiet_lm_eval() -> Iterator[None]:
    """lm-eval logs each request build and dataset step at INFO/WARNING; olivine's own notes say what ran."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
