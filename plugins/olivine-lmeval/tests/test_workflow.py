"""LMEvaluator in workflows run through the CLI: lm-eval tasks on local files score the tiny Phi-3 as a
transformers model and as the int4 onnx-genai model ModelBuilder makes of it; its metrics meet goals and
show in the summary and run.json like any other metric."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from olivine.testing import run_olivine, write_workflow

pytestmark = pytest.mark.slow

LIMIT = 6


def _workflow(folder: Path, tiny: Path, evaluators: dict, evaluator: str) -> Path:
    return write_workflow(folder, {
        "input_model": {"type": "HfModel", "model_path": str(tiny)},
        "systems": {"local": {"type": "LocalSystem",
                              "accelerators": [{"device": "cpu", "execution_providers": ["CPUExecutionProvider"]}]}},
        "evaluators": evaluators,
        "passes": {"builder": {"type": "ModelBuilder", "precision": "int4"}},
        "engine": {"host": "local", "target": "local", "evaluator": evaluator, "evaluate_input_model": True,
                   "cache_dir": "cache", "output_dir": "out"},
    })


@pytest.fixture
def folder(tmp_path, task_dir) -> Path:
    shutil.copytree(task_dir, tmp_path / "tasks")
    return tmp_path


def test_tasks_score_the_hf_model_and_its_int4_build_with_goals_and_summary(folder, tiny):
    metric = {"name": "tone", "type": "LMEvaluator",
              "sub_types": [{"name": "tone_mc/acc", "priority": 1, "goal": {"type": "threshold", "value": 0.0}},
                            {"name": "tone_gen/exact_match", "goal": {"type": "threshold", "value": 1.01}}],
              # a task file by path, and one found by name in a folder of the user's tasks
              "user_config": {"tasks": ["tasks/tone_mc.yaml", "tone_gen"], "include_path": "tasks",
                              "limit": LIMIT, "batch_size": 4}}
    config = _workflow(folder, tiny, {"lm": {"metrics": [metric]}}, "lm")
    result = run_olivine("run", "--config", str(config), "--no-progress", cwd=folder, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    stages = {s["name"]: s for s in json.loads((folder / "out" / "run.json").read_text())["stages"]}
    assert [stages[name]["format"] for name in ("input_model", "builder")] == ["hf", "onnx-genai"]
    for stage in stages.values():
        values = stage["metrics"]["tone"]
        assert set(values) - {"_notes"} == {"tone_mc/acc", "tone_gen/exact_match"}
        # scores are shares of LIMIT examples
        assert all(round(values[k] * LIMIT, 6).is_integer() for k in ("tone_mc/acc", "tone_gen/exact_match"))
        assert any(f"tone_mc {LIMIT}" in note and stage["format"] in note for note in values["_notes"])
        goals = {g["metric"]: g["holds"] for g in stage["goals"]}
        assert goals == {"tone-tone_mc/acc": True, "tone-tone_gen/exact_match": False}
    summary = result.stdout
    assert "tone tone_mc/acc" in summary and "tone tone_gen/exact_match" in summary  # the summary's columns
    assert "goal: tone tone_gen/exact_match >= 1.01: met by no stage" in summary


def test_olive_form_reports_each_task_metric(folder, tiny):
    """Olive's form (options beside the type) with Olive's fields, no-effect ones noted."""
    evaluators = {"mmlu": {"type": "LMEvaluator", "tasks": ["tasks/tone_mc.yaml"], "batch_size": 2,
                           "max_length": 64, "limit": 4, "model_class": "hf"}}
    config = json.loads(_workflow(folder, tiny, evaluators, "mmlu").read_text())
    config["passes"] = {}
    config["engine"]["evaluate_input_model"] = True
    result = run_olivine("run", "--config", str(write_workflow(folder, config)), "--no-progress", cwd=folder,
                         timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    stage = json.loads((folder / "out" / "run.json").read_text())["stages"][0]
    values = stage["metrics"]["mmlu"]
    assert set(values) - {"_notes"} == {"tone_mc/acc"}
    assert any("model_class has no effect" in note for note in values["_notes"])
