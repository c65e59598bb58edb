"""Evaluate a model with the planned metrics on the target system, cached by model and metric."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from olivine.cache import Cache, digest
from olivine.errors import OlivineError, PassError
from olivine.evaluators import EvalContext
from olivine.memory import release_memory
from olivine.models import ModelRef, content_key
from olivine.plan import PlannedMetric
from olivine.systems import System

log = logging.getLogger("olivine.evaluate")


def evaluate_model(model: ModelRef, metrics: list[PlannedMetric], target: System, cache: Cache,
                   data_configs: dict[str, Any], data_keys: dict[str, str], workflow_dir: Path,
                   show_progress: bool, dry_run: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{metric name: {sub type: value}}``; a metric whose evaluator cannot read the format is skipped."""
    results: dict[str, dict[str, Any]] = {}
    model_key = cache.model_key(model)
    for planned in metrics:
        if not planned.evaluator.accepts_format(model.format):
            log.info("%s: skipped on %s model", planned.config.name, model.format)
            continue
        results[planned.config.name] = _evaluate_one(model, model_key, planned, target, cache, data_configs,
                                                     data_keys, workflow_dir, show_progress, dry_run)
    return results


def _evaluate_one(model, model_key, planned, target, cache, data_configs, data_keys, workflow_dir,
                  show_progress, dry_run=None) -> dict[str, Any]:
    metric = planned.config
    data_name = metric.data_config if isinstance(metric.data_config, str) else None
    keyed = {"model": model_key, "metric": metric.model_dump(mode="json"), "version": planned.version,
             "data": data_keys.get(data_name) if data_name else None, "accelerator": target.accelerator().__dict__}
    inputs = planned.evaluator.cache_inputs(workflow_dir)
    if inputs:  # only then: results cached before evaluators could name inputs keep their keys
        keyed["inputs"] = [content_key(path) for path in inputs]
    key = digest(keyed)
    cached = cache.lookup_eval(key)
    if cached is not None:
        return cached
    if dry_run is not None:
        folder = dry_run / f"evaluate-{metric.name}-{key[:8]}"
        return _describe(model, planned, target, data_configs, workflow_dir, folder)
    ctx = EvalContext(metric=metric, workflow_dir=workflow_dir, path=planned.path, data_configs=data_configs,
                      accelerator=target.accelerator(), show_progress=show_progress)
    try:
        values = target.evaluate(planned.evaluator, model, ctx)
    except OlivineError:
        raise
    except Exception as exc:
        raise PassError(f"metric {metric.name} ({metric.type}) failed on {model.path}: "
                        f"{type(exc).__name__}: {exc}") from exc
    finally:
        release_memory()  # the evaluated model and its runtime are gone; later stages start lean
    result = dict(values)
    if ctx.report.get("notes"):
        result["_notes"] = ctx.report["notes"]
    cache.store_eval(key, result)
    return result


def _describe(model, planned, target, data_configs, workflow_dir, folder: Path) -> dict[str, Any]:
    """Dry run: a system that supports it writes the evaluation it would submit; no metric values."""
    if target.supports_dry_run:
        ctx = EvalContext(metric=planned.config, workflow_dir=workflow_dir, path=planned.path,
                          data_configs=data_configs,
                          accelerator=target.accelerator(), show_progress=False, dry_run=folder)
        target.evaluate(planned.evaluator, model, ctx)
        return {"_dry_run": str(folder)}
    return {"_dry_run": f"would run on {target.key}"}
