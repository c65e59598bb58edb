"""LMEvaluator's config and results: validation before any work, what a group reports, sub type selection,
unknown task names, and a hooks module that imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from olivine import Accelerator, ConfigError, ConfigErrors, EvalContext, MetricConfig, ModelRef, validate_workflow
from olivine.testing import write_workflow
from olivine_lmeval.evaluator import LMEvaluator
from olivine_lmeval.tasks import task_manager


def _olive_form(folder: Path, tiny: Path, **options) -> Path:
    return write_workflow(folder, {
        "input_model": {"type": "HfModel", "model_path": str(tiny)},
        "evaluators": {"lm": {"type": "LMEvaluator", **options}},
        "evaluator": "lm",
    })


def _evaluate(model: ModelRef, folder: Path, sub_types: list[str] | None = None, **options) -> dict[str, float]:
    evaluator = LMEvaluator(LMEvaluator.parse_config(options, "evaluators.lm"))
    metric = MetricConfig(name="lm", type="LMEvaluator", sub_types=[{"name": n} for n in sub_types or []],
                          user_config=options)
    ctx = EvalContext(metric=metric, workflow_dir=folder, path="evaluators.lm.metrics[0]",
                      accelerator=Accelerator(), show_progress=False)
    return evaluator.evaluate(model, ctx)


def test_hooks_import_nothing_heavy():
    code = ("import sys; from olivine import get_plugins; get_plugins().evaluators.names(); "
            "print(sorted(m for m in ('lm_eval', 'torch', 'onnxruntime_genai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={
        "OLIVINE_LOAD_PLUGINS": "lmeval", "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.replace("'", '"')) == []


def test_validation_names_the_users_path_for_a_missing_task_file_and_a_misspelt_key(tmp_path, tiny):
    config = _olive_form(tmp_path, tiny, tasks=["tasks/nowhere.yaml"], batch_size=1, limt=4)
    with pytest.raises(ConfigErrors) as info:
        validate_workflow(config)
    errors = {e.path: e for e in info.value.errors}
    assert set(errors) == {"evaluators.lm.limt"}  # config errors first; files are checked on a valid config
    assert "limit" in (errors["evaluators.lm.limt"].hint or "")
    with pytest.raises(ConfigErrors) as info:
        validate_workflow(_olive_form(tmp_path, tiny, tasks=["tasks/nowhere.yaml"], include_path="mine"))
    assert {e.path for e in info.value.errors} == {"evaluators.lm.tasks[0]"}


def test_olive_fields_validate_including_no_effect_ones(tmp_path, tiny, task_dir):
    plan = validate_workflow(_olive_form(tmp_path, tiny, tasks=[str(task_dir / "tone_mc.yaml")], batch_size=2,
                                         max_length=64, limit=0.5, bootstrap_iters=0, model_class="ort",
                                         provider_options={"enable_skip_layer_norm_strict_mode": "1"},
                                         execution_provider="CPUExecutionProvider", device="cpu"))
    assert plan.metrics[0].evaluator.config.limit == 0.5


@pytest.mark.slow
def test_a_group_reports_its_aggregate_and_sub_types_pick_any_task(tmp_path, tiny, task_dir):
    model = ModelRef(format="hf", path=tiny)
    options = {"tasks": ["tone_all"], "include_path": str(task_dir), "limit": 4, "bootstrap_iters": 0}
    assert set(_evaluate(model, tmp_path, **options)) == {"tone_all/acc"}
    picked = _evaluate(model, tmp_path, ["tone_mc/acc", "tone_all/acc"], **options)
    assert picked["tone_mc/acc"] == picked["tone_all/acc"]  # one subtask: the aggregate is its score
    with pytest.raises(ConfigError) as info:
        _evaluate(model, tmp_path, ["tone_mc/f1"], **options)
    assert info.value.path == "evaluators.lm.metrics[0].sub_types" and "tone_mc/acc" in info.value.hint


@pytest.mark.slow
def test_an_unknown_task_name_is_a_config_error_with_a_suggestion(tmp_path, task_dir):
    """Names not among the user's tasks are looked up in lm-eval's own index (seconds: built once here)."""
    cfg = LMEvaluator.parse_config({"tasks": ["tone_mc", "hellaswg"], "include_path": str(task_dir)}, "x")
    with pytest.raises(ConfigError) as info:
        task_manager(cfg, tmp_path, "evaluators.lm.metrics[0].user_config")
    assert info.value.path == "evaluators.lm.metrics[0].user_config.tasks[1]"
    assert "hellaswag" in (info.value.hint or "")
