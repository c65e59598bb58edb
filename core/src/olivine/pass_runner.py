"""Run one planned pass through its host system, or take its output from the cache."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine.cache import Cache, digest
from olivine.errors import OlivineError, PassError
from olivine.memory import release_memory
from olivine.models import ModelRef
from olivine.passes import PassContext
from olivine.plan import PlannedPass

log = logging.getLogger("olivine.engine")


@dataclass
class PassResult:
    key: str
    type: str
    cache_key: str
    cache_hit: bool
    seconds: float
    model: ModelRef
    report: dict[str, Any] = field(default_factory=dict)


def pass_cache_key(item: PlannedPass, input_key: str, data_keys: dict[str, str]) -> str:
    config = item.instance.cache_config()
    used_data = sorted(name for name in data_keys if _mentions(config, name))
    return digest({
        "input": input_key, "pass": item.type, "config": config, "version": item.version,
        "distribution": item.distribution, "data": {name: data_keys[name] for name in used_data},
        "accelerator": item.accelerator.__dict__,
    })


def _mentions(value: Any, name: str) -> bool:
    if isinstance(value, str):
        return value == name
    if isinstance(value, dict):
        return any(_mentions(v, name) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, name) for v in value)
    return False


def run_pass(item: PlannedPass, model: ModelRef, cache: Cache, data_configs: dict[str, Any],
             data_keys: dict[str, str], workflow_dir: Path, show_progress: bool,
             dry_run: Path | None = None, keep_remote: bool = False) -> PassResult:
    """``keep_remote``: every consumer of the output reads it where the host writes it; otherwise an output
    left remote (by this run or a cached one) is downloaded into its cache entry before it is returned."""
    key = pass_cache_key(item, cache.model_key(model), data_keys)
    started = time.perf_counter()
    hit = cache.lookup(key)
    if dry_run is None:  # a dry run connects to nothing: a cached remote output is taken as it is
        hit = _unless_gone(hit, item, key, cache)
        result = _run_or_hit(item, model, key, hit, cache, data_configs, workflow_dir, show_progress, keep_remote)
        if result.model.metadata.get("remote") and not keep_remote:
            log.info("%s (%s): downloading its output from %s", item.key, item.type, item.host.key)
            result.model = cache.localize(key, item.host.fetch_output)
        result.seconds = time.perf_counter() - started
        return result
    if hit is None:
        with cache.lock(key):
            output, report = _describe(item, model, key, cache, data_configs, workflow_dir, dry_run)
        return PassResult(item.key, item.type, key, False, time.perf_counter() - started, output, report)
    output, meta = hit
    log.info("%s (%s): cached", item.key, item.type)
    return PassResult(item.key, item.type, key, True, time.perf_counter() - started, output, meta.get("report", {}))


def _unless_gone(hit, item: PlannedPass, key: str, cache: Cache):
    """A cached output left remote counts only while its host still has it; gone: the entry is set aside."""
    if hit is None or not hit[0].metadata.get("remote") or item.host.remote_output_exists(hit[0]):
        return hit
    with cache.lock(key):
        again = cache.lookup(key)
        if again is not None and again[0].metadata.get("remote") and not item.host.remote_output_exists(again[0]):
            left_at = again[0].metadata.get("remote_host")
            if left_at and left_at != item.host.key:  # the cache key does not name the host
                why, state = f"its output was left at system {left_at!r}, which this run does not use", "unreachable"
            else:
                why, state = f"its output at {item.host.key} is gone", "stale"
            cache.set_aside(cache.root / "models" / key, why, state)
            return None
        return again


def _run_or_hit(item, model, key, hit, cache, data_configs, workflow_dir, show_progress,
                keep_remote) -> PassResult:
    started = time.perf_counter()
    if hit is None:
        with cache.lock(key, on_wait=lambda: log.info("%s: waiting for another run producing it", item.key),
                        on_progress=lambda s: log.info("%s: still waiting for another run (%.0fs)", item.key, s)):
            hit = cache.lookup(key, repair=True)  # under the lock: a damaged entry is set aside and re-run
            if hit is None:
                output, report = _produce(item, model, key, cache, data_configs, workflow_dir, show_progress,
                                          keep_remote)
                return PassResult(item.key, item.type, key, False, time.perf_counter() - started, output, report)
    output, meta = hit
    log.info("%s (%s): cached", item.key, item.type)
    return PassResult(item.key, item.type, key, True, time.perf_counter() - started, output, meta.get("report", {}))


def _context(item: PlannedPass, work: Path, cache: Cache, data_configs, workflow_dir: Path, **extra) -> PassContext:
    return PassContext(output_dir=work, workflow_dir=workflow_dir, pass_key=item.key, path=f"passes.{item.key}",
                       data_configs=data_configs,
                       accelerator=item.accelerator, cache_dir=cache.root,
                       logger=logging.getLogger(f"olivine.pass.{item.key}"), **extra)


def _describe(item, model, key, cache, data_configs, workflow_dir, dry_run: Path):
    """Dry run: a system that supports it writes what it would submit; nothing runs, nothing is cached."""
    work = cache.work_dir(key)
    report: dict[str, Any] = {"dry_run": True, "host": item.host.key}
    try:
        if item.host.supports_dry_run:
            # checkpoint_dir: where a real run would keep its checkpoints (a remote system names its own by it)
            ctx = _context(item, work, cache, data_configs, workflow_dir, show_progress=False,
                           dry_run=dry_run / item.key, checkpoint_dir=cache.checkpoint_dir(key))
            item.host.run_pass(item.instance, model, ctx)
            report["described_in"] = str(dry_run / item.key)
        else:
            log.info("%s (%s): would run on %s", item.key, item.type, item.host.key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # The cache key a real run would give this output, so later passes' keys (and cache hits) stay exact.
    # An adapter's base is known without running: later passes' jobs (a merge) must upload it too.
    base = None
    if item.output_format == "hf+adapter":
        base = model.base_model if model.format == "hf+adapter" else model.path
    placeholder = ModelRef(format=item.output_format, path=work, base_model=base,
                           metadata={"dry_run": True, "cache_key": key, "pass_key": item.key})
    return placeholder, report


def _produce(item, model, key, cache, data_configs, workflow_dir, show_progress, keep_remote=False):
    work = cache.work_dir(key)
    ctx = _context(item, work, cache, data_configs, workflow_dir, show_progress=show_progress,
                   checkpoint_dir=cache.checkpoint_dir(key), keep_output_remote=keep_remote)
    log.info("%s (%s): running on %s", item.key, item.type, item.host.key)
    started = time.perf_counter()
    try:
        output = item.host.run_pass(item.instance, model, ctx)
    except OlivineError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise PassError(f"passes.{item.key} ({item.type}) failed: {type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - started
    release_memory()
    output = output.with_metadata(producer=item.type, pass_key=item.key)
    if output.metadata.get("remote"):
        output = output.with_metadata(remote_host=item.host.key)  # where a later run must look for it
    ctx.report["seconds"] = round(seconds, 3)
    try:
        stored = cache.commit(key, work, output, {"report": ctx.report, "pass": item.type, "seconds": seconds})
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # nothing half-written stays (a full disk, a read-only cache)
        raise
    return stored, ctx.report
