"""The out-of-process runner: ``olivine run-pass --spec spec.json`` runs one pass or one evaluation.

Every out-of-process system (PythonEnvironment, AzureML) writes a spec, runs this in the other
interpreter or container, and reads ``result.json`` back.
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

from olivine.config.schema import DataConfig, MetricConfig
from olivine.errors import ConfigError, OlivineError
from olivine.evaluators import EvalContext, Evaluator
from olivine.models import ModelRef
from olivine.passes import Accelerator, Pass, PassContext
from olivine.plugins import get_plugins

SPEC_VERSION = 1


def pass_spec(pass_: Pass, model: ModelRef, ctx: PassContext) -> dict[str, Any]:
    return {
        "spec_version": SPEC_VERSION, "kind": "pass", "type": pass_.name, "pass_key": ctx.pass_key,
        "path": ctx.path, "config": pass_.config.model_dump(mode="json"), "model": model.to_json(),
        "output_dir": str(ctx.output_dir), "workflow_dir": str(ctx.workflow_dir),
        "checkpoint_dir": str(ctx.checkpoint_dir) if ctx.checkpoint_dir else None,
        "data_configs": [d.model_dump(mode="json") for d in ctx.data_configs.values()],
        "accelerator": ctx.accelerator.__dict__,
    }


def eval_spec(evaluator: Evaluator, model: ModelRef, ctx: EvalContext, output_dir: Path) -> dict[str, Any]:
    return {
        "spec_version": SPEC_VERSION, "kind": "evaluate", "type": evaluator.name, "path": ctx.path,
        "config": evaluator.config.model_dump(mode="json"), "metric": ctx.metric.model_dump(mode="json"),
        "model": model.to_json(), "output_dir": str(output_dir), "workflow_dir": str(ctx.workflow_dir),
        "data_configs": [d.model_dump(mode="json") for d in ctx.data_configs.values()],
        "accelerator": ctx.accelerator.__dict__,
    }


def rebase_spec(spec: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Rewrite path prefixes (local folder -> where the job sees it), recursively through the spec."""
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in mapping.items():
                if value == old or value.startswith(old.rstrip("/") + "/"):
                    return new + value[len(old):]
            return value
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(spec)


def execute(spec_file: Path) -> int:
    """Run a spec and write ``result.json`` beside it. Returns the process exit status."""
    spec = json.loads(Path(spec_file).read_text())
    result_file = Path(spec_file).with_name("result.json")
    try:
        result = _execute(spec)
        status = 0
    except OlivineError as exc:
        result, status = {"error": str(exc), "error_type": type(exc).__name__}, 2
    except Exception as exc:  # the caller turns this into a PassError with the remote message
        logging.getLogger("olivine.run_pass").error("%s", traceback.format_exc())
        result, status = {"error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__}, 1
    result_file.write_text(json.dumps(result, indent=2, default=str))
    return status


def _execute(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("spec_version") != SPEC_VERSION:
        raise ConfigError("spec_version", f"unsupported run-pass spec version {spec.get('spec_version')!r}")
    plugins = get_plugins()
    model = ModelRef.from_json(spec["model"])
    data = {d["name"]: DataConfig.model_validate(d) for d in spec.get("data_configs", [])}
    accelerator = Accelerator(**spec.get("accelerator", {}))
    output_dir = Path(spec["output_dir"])
    output_dir.mkdir(parents=True, exist_ok=True)
    if spec["kind"] == "pass":
        cls = plugins.passes.get(spec["type"], "type")
        # The user's key travels with the spec, so errors in this process name it as they would in the run's.
        path = spec.get("path") or "config"
        pass_ = cls(cls.parse_config(spec["config"], path))
        ctx = PassContext(output_dir=output_dir, workflow_dir=Path(spec["workflow_dir"]), data_configs=data,
                          pass_key=spec.get("pass_key", ""), path=spec.get("path", ""),
                          accelerator=accelerator, checkpoint_dir=_optional_path(spec.get("checkpoint_dir")))
        produced = pass_.run(model, ctx)
        return {"model": produced.to_json(), "report": ctx.report}
    evaluator_cls = plugins.evaluators.get(spec["type"], "type")
    metric_path = spec.get("path") or "metric"
    evaluator = evaluator_cls(evaluator_cls.parse_config(spec["config"], f"{metric_path}.user_config"))
    eval_ctx = EvalContext(metric=MetricConfig.model_validate(spec["metric"]), workflow_dir=Path(spec["workflow_dir"]),
                           path=spec.get("path", ""), data_configs=data, accelerator=accelerator)
    return {"metrics": evaluator.evaluate(model, eval_ctx), "report": eval_ctx.report}


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None
