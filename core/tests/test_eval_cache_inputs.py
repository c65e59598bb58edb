"""A metric's own input files key its cached result (``Evaluator.cache_inputs``): editing one re-evaluates."""

from __future__ import annotations

import json

from core_helpers import olivine_cli, write_workflow

PLUGIN = '''
from pathlib import Path

from olivine import Evaluator, StrictConfig, hookimpl, resolve_path


class CountLines(Evaluator["CountLines.Config"]):
    """Counts the lines of a reference file (and logs each evaluation)."""

    name = "count_lines"
    sub_types = ("lines",)

    class Config(StrictConfig):
        reference: str

    def cache_inputs(self, workflow_dir):
        return [resolve_path(self.config.reference, workflow_dir)]

    def evaluate(self, model, ctx):
        with open(ctx.workflow_dir / "evaluations.log", "a") as log:
            log.write("evaluated\\n")
        return {"lines": len(ctx.resolve_path(self.config.reference).read_text().splitlines())}


@hookimpl
def register_evaluators(register):
    register(CountLines)
'''


def test_editing_a_metrics_input_file_re_evaluates_instead_of_reusing_the_cached_result(tmp_path, fake_hf_model):
    (tmp_path / "count_lines_plugin.py").write_text(PLUGIN)
    env = {"PYTHONPATH": str(tmp_path), "OLIVINE_LOAD_PLUGINS": "", "OLIVINE_PLUGIN_MODULES": "count_lines_plugin"}
    (tmp_path / "reference.txt").write_text("a\nb\n")
    write_workflow(tmp_path, {
        "input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
        "evaluators": {"e": {"metrics": [{"name": "ref", "type": "count_lines", "sub_types": [{"name": "lines"}],
                                          "user_config": {"reference": "reference.txt"}}]}},
        "engine": {"evaluator": "e", "cache_dir": "cache", "output_dir": "out"}})

    def run() -> float:
        result = olivine_cli("run", "workflow.json", "--no-progress", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        return json.loads((tmp_path / "out" / "run.json").read_text())["stages"][0]["metrics"]["ref"]["lines"]

    assert (run(), run()) == (2, 2)
    (tmp_path / "reference.txt").write_text("a\nb\nc\n")
    assert run() == 3
    assert (tmp_path / "evaluations.log").read_text().splitlines() == ["evaluated", "evaluated"]
