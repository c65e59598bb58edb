"""Search over pass parameters: candidates run through the cache, are evaluated, and the best meeting the
goals becomes the output. A test-only pass writes a known score into the model, so the winner is known."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from core_helpers import needs_distributions, pydantic_says, write_workflow
from olivine import Evaluator, ModelRef, Pass, PassContext
from olivine.engine import run, validate
from olivine.errors import ConfigErrors
from olivine.plugins import load_plugins
from olivine.summary import summary_table

RUNS: list[dict] = []


class Knob(Pass):
    """Copy a model, add ``quality`` to its SCORE file and write ``bloat`` padding bytes."""

    name = "Knob"
    accepts = ("hf",)
    produces = "hf"

    class Config(Pass.Config):
        quality: float = 0.5
        bloat: int = 0
        tags: list[str] = []

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        RUNS.append(self.config.model_dump())
        out = ctx.output_dir / "model"
        shutil.copytree(model.path, out)
        score = out / "SCORE"
        previous = float(score.read_text()) if score.exists() else 0.0
        score.write_text(str(round(previous + self.config.quality, 6)))
        (out / "PADDING").write_bytes(b"\0" * self.config.bloat)
        (out / "TAGS").write_text(",".join(self.config.tags))
        return ModelRef(format="hf", path=out)


class ScoreMetric(Evaluator):
    """The number in a model's SCORE file (0 when absent)."""

    name = "score"
    accepts = ("hf",)
    sub_types = ("score",)

    def evaluate(self, model: ModelRef, ctx) -> dict[str, float]:
        file = Path(model.path) / "SCORE"
        return {"score": float(file.read_text()) if file.exists() else 0.0}


@pytest.fixture
def plugins():
    loaded = load_plugins()
    loaded.passes.add(Knob, "search-tests", "search-tests", "0")
    loaded.evaluators.add(ScoreMetric, "search-tests", "search-tests", "0")
    RUNS.clear()
    return loaded


def workflow(model, passes: dict, strategy, score_goal: float | None = 0.5) -> dict:
    score = {"name": "score", "priority": 1}
    if score_goal is not None:
        score["goal"] = {"type": "threshold", "value": score_goal}
    return {
        "input_model": {"type": "HfModel", "model_path": str(model)},
        "evaluators": {"e": {"metrics": [
            {"name": "quality", "type": "score", "sub_types": [score]},
            {"name": "size", "type": "size", "sub_types": [{"name": "bytes", "priority": 2}]},
        ]}},
        "passes": passes,
        "engine": {"evaluator": "e", "search_strategy": strategy, "evaluate_input_model": False,
                   "cache_dir": "cache", "output_dir": "out"},
    }


JOINT = {"execution_order": "joint", "sampler": "sequential"}


def test_joint_search_picks_the_best_candidate_meeting_the_goals(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.4, 0.9, 0.7], "bloat": {"type": "Categorical",
                                                                            "values": [5000, 10]},
                       "tags": ["a", "b"]}}
    outcome = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, {**JOINT, "output_model_num": 3})),
                  plugins=plugins, show_progress=False)
    search = outcome.run["search"]
    assert search["ranked"] == [3, 2, 5]
    assert search["space"] == {"knob.quality": [0.4, 0.9, 0.7], "knob.bloat": [5000, 10]}
    assert [c["params"] for c in search["candidates"]] == [
        {"knob.quality": q, "knob.bloat": b} for q in (0.4, 0.9, 0.7) for b in (5000, 10)]
    assert [c["goals_met"] for c in search["candidates"]] == [False, False, True, True, True, True]
    assert search["chosen"] == 3 and search["chosen_meets_goals"] is True
    assert [c["chosen"] for c in search["candidates"]] == [False, False, False, True, False, False]
    model = tmp_path / "out" / "model"
    assert (model / "SCORE").read_text() == "0.9"
    assert (model / "PADDING").stat().st_size == 10
    assert (model / "TAGS").read_text() == "a,b"  # a list the Config takes is a value, not a search space
    report = json.loads((tmp_path / "out" / "run.json").read_text())
    assert report["stages"][-1]["metrics"]["quality"] == {"score": 0.9}
    assert report["stages"][-1]["search_candidate"] == 3
    table = summary_table(outcome.run)
    assert "search (joint, sequential): 6 candidates, chosen #3, meets every goal" in table
    assert len([line for line in table.splitlines() if line.startswith(("0 ", "1 ", "2 ", "3 ", "4 ", "5 "))]) == 6


def test_a_search_rerun_takes_every_candidate_from_the_cache(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.6, 0.8, 0.7]}}
    path = write_workflow(tmp_path, workflow(fake_hf_model, passes, JOINT))
    run(path, plugins=plugins, show_progress=False)
    assert [r["quality"] for r in RUNS] == [0.6, 0.8, 0.7]
    again = run(path, plugins=plugins, show_progress=False)
    assert len(RUNS) == 3
    assert [c["cache_hits"] for c in again.run["search"]["candidates"]] == [1, 1, 1]
    assert again.run["search"]["chosen"] == 1


def test_random_sampler_is_reproducible_from_its_seed(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.1, 0.2, 0.3, 0.6, 0.7, 0.8], "bloat": [0, 1]}}

    def sampled(seed: int) -> list[dict]:
        strategy = {"execution_order": "joint", "sampler": "random", "max_samples": 4, "seed": seed}
        found = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, strategy)), plugins=plugins,
                    show_progress=False).run["search"]
        best = max((c for c in found["candidates"]), key=lambda c: (c["metrics"]["quality"]["score"],
                                                                     -c["metrics"]["size"]["bytes"]))
        assert found["candidates"][found["chosen"]] == best
        return [c["params"] for c in found["candidates"]]

    first = sampled(7)
    assert len(first) == 4 and len({json.dumps(p, sort_keys=True) for p in first}) == 4
    assert sampled(7) == first
    assert sampled(8) != first


@needs_distributions("optuna")
def test_tpe_sampler_through_optuna(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.1, 0.9, 0.3, 0.5], "bloat": [0, 100]}}
    strategy = {"execution_order": "joint", "sampler": "tpe", "max_samples": 5, "seed": 0}
    search = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, strategy, score_goal=None)),
                 plugins=plugins, show_progress=False).run["search"]
    candidates = search["candidates"]
    assert len(candidates) == 5 and len({json.dumps(c["params"], sort_keys=True) for c in candidates}) == 5
    best = max(candidates, key=lambda c: (c["metrics"]["quality"]["score"], -c["metrics"]["size"]["bytes"]))
    assert search["chosen"] == best["index"] and search["chosen_meets_goals"] is None


def test_pass_by_pass_fixes_each_pass_before_searching_the_next(tmp_path, fake_hf_model, plugins):
    passes = {"first": {"type": "Knob", "quality": [0.1, 0.3]},
              "second": {"type": "Knob", "quality": [0.05, 0.2]}}
    strategy = {"execution_order": "pass-by-pass", "sampler": "sequential"}
    outcome = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, strategy, score_goal=0.45)),
                  plugins=plugins, show_progress=False)
    candidates = outcome.run["search"]["candidates"]
    # the second pass keeps its first value while the first is searched; (0.3, 0.05) is not run twice
    assert [(c["step"], c["params"]) for c in candidates] == [
        ("first", {"second.quality": 0.05, "first.quality": 0.1}),
        ("first", {"second.quality": 0.05, "first.quality": 0.3}),
        ("second", {"first.quality": 0.3, "second.quality": 0.2})]
    assert [c["metrics"]["quality"]["score"] for c in candidates] == [0.15, 0.35, 0.5]
    assert outcome.run["search"]["chosen"] == 2
    assert (tmp_path / "out" / "model" / "SCORE").read_text() == "0.5"


def test_when_no_candidate_meets_the_goals_the_best_ranked_is_kept_and_flagged(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.2, 0.4, 0.3]}}
    outcome = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, JOINT, score_goal=0.9)),
                  plugins=plugins, show_progress=False)
    assert outcome.run["search"]["chosen"] == 1
    assert outcome.run["search"]["chosen_meets_goals"] is False
    assert "no candidate meets every goal; the output is the best-ranked one" in summary_table(outcome.run)


def config_errors(tmp_path, config, plugins) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config), plugins=plugins)
    return [e.line() for e in caught.value.errors]


def test_search_spaces_are_config_values_only_with_a_search_strategy(tmp_path, fake_hf_model, plugins):
    plain = workflow(fake_hf_model, {"knob": {"type": "Knob", "quality": [0.1, 0.2]}}, None)
    assert config_errors(tmp_path, plain, plugins) == [f"passes.knob.quality: {pydantic_says(float, [0.1, 0.2])}"]
    marked = workflow(fake_hf_model, {"knob": {"type": "Knob", "quality": {"type": "Categorical",
                                                                          "values": [0.1]}}}, None)
    assert config_errors(tmp_path, marked, plugins) == [
        'passes.knob.quality: Categorical search space without engine.search_strategy (set engine.search_strategy '
        '(e.g. {"execution_order": "joint", "sampler": "sequential"}) or give one value)']
    listed = workflow(fake_hf_model, {"knob": {"type": "Knob", "tags": ["x", "y"]}}, None)
    assert validate(write_workflow(tmp_path, listed), plugins=plugins).search is None


def test_search_config_errors(tmp_path, fake_hf_model, plugins):
    bad_choice = workflow(fake_hf_model, {"knob": {"type": "Knob", "quality": [0.1, "high"]}}, JOINT)
    assert config_errors(tmp_path, bad_choice, plugins) == [
        f"passes.knob.quality[1]: search value 'high': {pydantic_says(float, 'high')}"]
    no_metrics = workflow(fake_hf_model, {"knob": {"type": "Knob", "quality": [0.1, 0.2]}}, JOINT)
    del no_metrics["engine"]["evaluator"]
    assert config_errors(tmp_path, no_metrics, plugins) == [
        "engine.evaluator: a search compares candidates by metrics: name an evaluator (evaluators defined: e)"]
    conditional = workflow(fake_hf_model, {"knob": {"type": "Knob", "quality": {
        "type": "Conditional", "parents": ["bloat"], "support": {}}}}, JOINT)
    assert config_errors(tmp_path, conditional, plugins) == [
        'passes.knob.quality.type: Conditional search spaces are not supported (use {"type": "Categorical", '
        '"values": [...]} or a list)']


def test_olive_older_search_strategy_spelling(tmp_path, fake_hf_model, plugins):
    old = {"execution_order": "joint", "search_algorithm": "exhaustive",
           "search_algorithm_config": {"num_samples": 2, "seed": 0}}
    passes = {"knob": {"type": "Knob", "quality": [0.6, 0.8, 0.7]}}
    search = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, old)), plugins=plugins,
                 show_progress=False).run["search"]
    assert (search["sampler"], search["max_samples"], len(search["candidates"]), search["chosen"]) == (
        "sequential", 2, 2, 1)
    old["search_algorithm_config"]["num_sample"] = 3
    assert config_errors(tmp_path, workflow(fake_hf_model, passes, old), plugins) == [
        "engine.search_strategy.search_algorithm_config.num_sample: unknown key (did you mean max_samples?)"]


def test_max_time_stops_drawing_candidates(tmp_path, fake_hf_model, plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.6, 0.8, 0.7]}}
    strategy = {**JOINT, "max_time": 1e-9}
    search = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, strategy)), plugins=plugins,
                 show_progress=False).run["search"]
    assert [c["params"] for c in search["candidates"]] == [{"knob.quality": 0.6}]


def test_stop_when_goals_met_ends_the_search_at_the_first_candidate_meeting_them(tmp_path, fake_hf_model,
                                                                                 plugins):
    passes = {"knob": {"type": "Knob", "quality": [0.3, 0.6, 0.9, 0.7]}}
    strategy = {**JOINT, "stop_when_goals_met": True}
    search = run(write_workflow(tmp_path, workflow(fake_hf_model, passes, strategy)), plugins=plugins,
                 show_progress=False).run["search"]
    assert [c["params"] for c in search["candidates"]] == [{"knob.quality": 0.3}, {"knob.quality": 0.6}]
    assert search["chosen"] == 1 and search["chosen_meets_goals"] is True
    assert (tmp_path / "out" / "model" / "SCORE").read_text() == "0.6"
    without_goal = workflow(fake_hf_model, passes, strategy, score_goal=None)
    assert config_errors(tmp_path, without_goal, plugins) == [
        "engine.search_strategy.stop_when_goals_met: no metric sub type has a goal to meet (give a sub type a goal, "
        "or remove stop_when_goals_met)"]
