"""Run a workflow: validate, resolve inputs, run passes through the cache, evaluate, publish."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine import __version__, materialize
from olivine.cache import Cache
from olivine.config.loader import LoadedWorkflow, load_workflow
from olivine.errors import ConfigErrors
from olivine.evaluation import evaluate_model
from olivine.goals import annotate_stages, sub_metrics
from olivine.memory import thaw
from olivine.models import ModelRef
from olivine.output import publish, recover_output
from olivine.pass_runner import PassResult, run_pass
from olivine.paths import resolve_path
from olivine.plan import Plan, build_plan
from olivine.plugins import Plugins, get_plugins
from olivine.search import ChainRun, Search
from olivine.stage import Stage
from olivine.workspace import workspace_errors

log = logging.getLogger("olivine.engine")
SEVERITY_TO_LEVEL = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR, 4: logging.CRITICAL}


@dataclass
class RunOutcome:
    plan: Plan
    output_dir: Path
    run: dict[str, Any]
    model: ModelRef | None
    passes: list[PassResult] = field(default_factory=list)


def validate(config_file: str | Path, plugins: Plugins | None = None) -> Plan:
    """Everything ``olivine config validate`` checks; raises ConfigErrors."""
    plugins = plugins or get_plugins()
    loaded = load_workflow(config_file, plugins.claimed_sections())
    return _checked_plan(loaded, plugins, _output_dir(loaded, None))


def _checked_plan(loaded: LoadedWorkflow, plugins: Plugins, out_dir: Path) -> Plan:
    """The plan, plus pass keys, output and cache dirs checked: all problems reported together."""
    problems = workspace_errors(loaded, out_dir, _resolve(loaded, loaded.config.engine.cache_dir))
    try:
        plan = build_plan(loaded, plugins)
    except ConfigErrors as exc:
        raise ConfigErrors(exc.errors + problems) from None
    if problems:
        raise ConfigErrors(problems)
    return plan


def _output_dir(loaded: LoadedWorkflow, override: str | Path | None) -> Path:
    return Path(override).resolve() if override else _resolve(loaded, loaded.config.engine.output_dir)


def run(config_file: str | Path, output_dir: str | Path | None = None, plugins: Plugins | None = None,
        show_progress: bool = True, dry_run: bool = False) -> RunOutcome:
    """Run a workflow. ``dry_run``: systems that support it write what they would submit under
    ``<output dir>/dry-run/``; nothing else runs, nothing is cached, the previous output stays."""
    try:
        return _run(config_file, output_dir, plugins, show_progress, dry_run)
    finally:
        thaw()


def _run(config_file, output_dir, plugins, show_progress: bool, dry_run: bool) -> RunOutcome:
    started = time.perf_counter()
    plugins = plugins or get_plugins()
    loaded = load_workflow(config_file, plugins.claimed_sections())
    out_dir = _output_dir(loaded, output_dir)
    plan = _checked_plan(loaded, plugins, out_dir)
    if not os.environ.get("OLIVINE_LOG_LEVEL"):  # the command line's -v/-q/--log_level win over the config
        logging.getLogger("olivine").setLevel(SEVERITY_TO_LEVEL[loaded.config.engine.log_severity_level])
    cache_root = _resolve(loaded, loaded.config.engine.cache_dir)
    if loaded.config.engine.clean_cache and not dry_run:
        shutil.rmtree(cache_root, ignore_errors=True)
    cache = Cache(cache_root)
    if out_dir.is_dir():
        recover_output(out_dir, cache)  # a publish killed after its commit is completed before anything else
    dry_dir = _fresh_dir(out_dir / "dry-run") if dry_run else None
    model = materialize.input_model(plan, plugins, cache, dry_run)
    data_configs, data_keys = materialize.data_configs(plan, plugins, cache, dry_run)

    def evaluate(ref: ModelRef, metrics=plan.metrics) -> dict[str, Any]:
        return evaluate_model(ref, metrics, plan.target, cache, data_configs, data_keys,
                              loaded.workflow_dir, show_progress, dry_dir) if metrics else {}

    def run_chain(passes) -> ChainRun:
        results: list[PassResult] = []
        stages: list[Stage] = []
        current = model
        for i, item in enumerate(passes):
            metrics = item.metrics or (plan.metrics if item is passes[-1] else [])
            keep = _keeps_remote(item, passes[i + 1:], plan.target if metrics else None)
            result = run_pass(item, current, cache, data_configs, data_keys, loaded.workflow_dir, show_progress,
                              dry_dir, keep_remote=keep)
            results.append(result)
            current = result.model
            stages.append(_stage(item.key, current, evaluate(current, metrics), result))
        return ChainRun(results, stages, current)

    stages: list[Stage] = []
    if plan.metrics and loaded.config.engine.evaluate_input_model:
        stages.append(_stage("input_model", model, evaluate(model)))
    subs = sub_metrics([*plan.metrics, *(m for item in plan.passes for m in item.metrics)])
    search = None
    if plan.search and not dry_run:  # a dry run describes the first candidate only
        search = Search(plan.passes, plan.search, subs, run_chain, stages[0] if stages else None).run()
    chain = search.chosen.chain if search else run_chain(plan.passes)
    results, model = chain.results, chain.model
    stages += chain.stages
    annotate_stages(stages, subs)
    run_record = _run_record(loaded, plan, cache, results, stages, time.perf_counter() - started)
    if search:
        run_record["search"] = search.record
    if dry_dir is not None:
        (dry_dir / "run.json").write_text(json.dumps({**run_record, "dry_run": True}, indent=2, default=str))
        return RunOutcome(plan, dry_dir, run_record, None, results)
    published = publish(out_dir, model if plan.passes else None, run_record, cache)
    return RunOutcome(plan, out_dir, run_record, published, results)


def _keeps_remote(item, later: list, target) -> bool:
    """Whether a pass's output may stay where its host writes it: not the final model (that comes home), and
    every later pass's host and the evaluation target (when this stage is evaluated) read it there. A later
    adapter keeps its base model's path, which publishing copies: then the output comes home too."""
    if not later or any(p.output_format == "hf+adapter" for p in later):
        return False
    consumers = [p.host for p in later] + ([target] if target is not None else [])
    return item.host.keeps_output_remote(consumers)


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _resolve(loaded: LoadedWorkflow, value: str) -> Path:
    return resolve_path(value, loaded.workflow_dir).resolve()


def _stage(name: str, model: ModelRef, metrics: dict[str, Any], result: PassResult | None = None) -> Stage:
    stage = Stage(name, model.format, str(model.path), metrics, _size(model.path))
    if result is not None:
        stage.type, stage.cache_key, stage.cache_hit = result.type, result.cache_key, result.cache_hit
        stage.seconds, stage.report = round(result.seconds, 3), result.report
    return stage


def _size(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _run_record(loaded: LoadedWorkflow, plan: Plan, cache: Cache, results, stages, seconds: float) -> dict:
    return {
        "olivine_version": __version__,
        "workflow_id": loaded.config.engine.workflow_id or loaded.file.stem,
        "config_file": str(loaded.file),
        "migrated_from_old_schema": loaded.migration.changed,
        "host": plan.host.key if plan.host else None,
        "target": plan.target.key if plan.target else None,
        "cache_dir": str(cache.root),
        "wall_seconds": round(seconds, 3),
        "stages": [stage.to_json() for stage in stages],
        "cache_hits": sum(1 for r in results if r.cache_hit),
        "versions": _versions(plan),
        "python": platform.python_version(),
        "artifacts": _artifacts(results, cache),
    }


def _versions(plan: Plan) -> dict[str, str]:
    versions = {"olivine": __version__}
    for item in plan.passes:
        versions[item.distribution] = item.version
    for metric in plan.metrics:
        versions.setdefault(f"evaluator:{metric.config.type}", metric.version)
    return versions


def _artifacts(results: list[PassResult], cache: Cache) -> list[dict[str, str]]:
    """Files a pass reported (paths relative to its output dir), copied beside the model."""
    artifacts = []
    for result in results:
        entry = cache.root / "models" / result.cache_key
        for name, relative in (result.report.get("artifacts") or {}).items():
            artifacts.append({"name": f"{result.key}-{name}", "source": str(entry / relative)})
    return artifacts
