"""Metric goals: targets per goal type, deltas against the baseline stage, goals that hold and that fail."""

from __future__ import annotations

import json

import pytest
from core_helpers import olivine_cli, write_workflow
from olivine.config.schema import GoalConfig
from olivine.engine import run, validate
from olivine.errors import ConfigErrors
from olivine.goals import sub_metrics, target
from olivine.summary import summary_table


@pytest.mark.parametrize(("goal_type", "value", "higher_is_better", "expected"), [
    ("threshold", 0.8, True, 0.8),
    ("threshold", 40.0, False, 40.0),
    ("min-improvement", 0.05, True, 0.95),
    ("min-improvement", 10.0, False, 90.0),
    ("max-degradation", 0.01, True, 0.89),
    ("max-degradation", 10.0, False, 110.0),
    ("percent-min-improvement", 100.0, True, 1.8),
    ("percent-min-improvement", 50.0, False, 50.0),
    ("percent-max-degradation", 10.0, True, 0.81),
    ("percent-max-degradation", 20.0, False, 120.0),
])
def test_goal_targets_from_the_baseline(goal_type, value, higher_is_better, expected):
    baseline = 0.9 if higher_is_better else 100.0
    assert target(GoalConfig(type=goal_type, value=value), higher_is_better, baseline) == pytest.approx(expected)


def test_relative_goal_without_baseline_has_no_target():
    assert target(GoalConfig(type="max-degradation", value=1), True, None) is None


def size_workflow(model, goals: list[dict], labels=("abc",), **engine) -> dict:
    """Touch passes append ``label + newline`` to a file, so each grows the model by a known byte count."""
    return {
        "input_model": {"type": "HfModel", "model_path": str(model)},
        "evaluators": {"sizes": {"metrics": [{"name": "size", "type": "size", "sub_types": [
            {"name": "bytes", **goal} for goal in goals]}]}},
        "passes": {label: {"type": "Touch", "label": label} for label in labels},
        "engine": {"evaluator": "sizes", "cache_dir": "cache", "output_dir": "out", **engine},
    }


def test_goals_that_hold_and_fail_are_reported_with_deltas(tmp_path, fake_hf_model, test_plugins):
    base = sum(f.stat().st_size for f in fake_hf_model.iterdir())
    config = size_workflow(fake_hf_model, [{"goal": {"type": "max-degradation", "value": 4}}])
    outcome = run(write_workflow(tmp_path, config), show_progress=False)
    first, last = outcome.run["stages"]
    assert (first["name"], first["metrics"], first["goals"]) == ("input_model", {"size": {"bytes": base}}, [])
    assert last["baseline"] == "input_model"
    assert last["deltas"] == {"size-bytes": {"delta": 4.0, "percent": pytest.approx(400 / base)}}
    assert last["goals"] == [{"metric": "size-bytes", "type": "max-degradation", "value": 4.0,
                              "higher_is_better": False, "target": base + 4.0, "actual": base + 4.0, "holds": True}]
    assert last["goals_met"] is True
    assert "goal: size <= 4 (max degradation vs baseline): met by" in summary_table(outcome.run)

    config = size_workflow(fake_hf_model, [{"goal": {"type": "max-degradation", "value": 3}}])
    failed = run(write_workflow(tmp_path, config), show_progress=False)
    last = failed.run["stages"][-1]
    assert (last["goals"][0]["holds"], last["goals_met"]) == (False, False)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["stages"][-1]["goals_met"] is False
    table = summary_table(failed.run)
    assert "vs input_model: size +4 B" in table and "goal: size <= 3 (max degradation vs baseline): met by no stage" \
        in table


def test_without_input_evaluation_the_previous_stage_is_the_baseline(tmp_path, fake_hf_model, test_plugins):
    config = size_workflow(fake_hf_model, [{"goal": {"type": "percent-max-degradation", "value": 0.0}}],
                           labels=("a", "bb"), evaluate_input_model=False)
    config["passes"]["a"]["evaluator"] = "sizes"
    stages = run(write_workflow(tmp_path, config), show_progress=False).run["stages"]
    assert [s["name"] for s in stages] == ["a", "bb"]
    assert "goals" not in stages[0] or stages[0]["goals"] == []  # the first evaluated stage is the baseline
    assert stages[1]["baseline"] == "a"
    assert stages[1]["deltas"]["size-bytes"]["delta"] == 3.0
    assert stages[1]["goals_met"] is False


def test_threshold_goal_applies_to_the_input_model_too(tmp_path, fake_hf_model, test_plugins):
    config = size_workflow(fake_hf_model, [{"goal": {"type": "threshold", "value": 1}}])
    stages = run(write_workflow(tmp_path, config), show_progress=False).run["stages"]
    assert [s["goals_met"] for s in stages] == [False, False]


def test_higher_is_better_defaults_per_sub_type(tmp_path, fake_hf_model):
    config = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
              "evaluators": {"e": {"metrics": [{"name": "lat", "type": "latency", "sub_types": [
                  {"name": "p50"}, {"name": "tokens_per_second"}, {"name": "ttft", "higher_is_better": True}]}]}},
              "engine": {"evaluator": "e"}}
    plan = validate(write_workflow(tmp_path, config))
    assert {s.column: s.higher_is_better for s in sub_metrics(plan.metrics)} == {
        "lat-p50": False, "lat-tokens_per_second": True, "lat-ttft": True}


def test_unknown_goal_type_is_a_config_error(tmp_path, fake_hf_model, test_plugins):
    config = size_workflow(fake_hf_model, [{"goal": {"type": "max-degredation", "value": 1}},
                                           {"goal": {"type": "min-improvement", "value": -2}}])
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config))
    assert [e.line() for e in caught.value.errors] == [
        "evaluators.sizes.metrics[0].sub_types[0].goal.type: unknown goal type 'max-degredation' "
        "(did you mean max-degradation?)",
        "evaluators.sizes.metrics[0].sub_types[1].goal.value: a min-improvement goal is a non-negative amount",
    ]
    result = olivine_cli("config", "validate", str(tmp_path / "workflow.json"))
    assert result.returncode == 2 and "max-degredation" in result.stderr + result.stdout
