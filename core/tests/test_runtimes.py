"""Core's metric types and provider checks know no runtime: they use the one a plugin registers through
``register_runtimes`` for the model's format (olivine-runtimes' hf and onnx-genai runtimes are tested there).

Only the built-ins and support/always_joy_runtime.py are loaded (``OLIVINE_LOAD_PLUGINS=""``), so its
``hf`` runtime is the only one installed.
"""

from __future__ import annotations

import json

from conftest_paths import SUPPORT
from core_helpers import olivine_cli, write_workflow


def accuracy_workflow(tmp_path, fake_hf_model, **system) -> dict:
    rows = [{"text": text, "tone": tone} for text, tone in
            [("What a day!", "joy"), ("Leave me alone.", "anger"), ("Is someone there?", "fear"),
             ("I miss you.", "sadness")]]
    (tmp_path / "tones.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return {
        "input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
        "systems": {"here": {"type": "LocalSystem", **system}},
        "data_configs": [{"name": "tones", "type": "HuggingfaceContainer",
                          "load_dataset_config": {"data_name": "json", "data_files": "tones.jsonl"},
                          "pre_process_data_config": {"prompt_template": "Text: {text}\nTone: ",
                                                      "completion_template": "{tone}"}}],
        "evaluators": {"e": {"metrics": [{"name": "acc", "type": "accuracy", "data_config": "tones",
                                          "sub_types": [{"name": "accuracy_score"}]}]}},
        "engine": {"target": "here", "evaluator": "e", "cache_dir": "cache", "output_dir": "out"},
    }


def plugin_env(tmp_path) -> dict[str, str]:
    """Built-ins plus support/always_joy_runtime.py: its ``hf`` runtime is the only one installed."""
    return {"PYTHONPATH": str(SUPPORT), "OLIVINE_LOAD_PLUGINS": "", "OLIVINE_PLUGIN_MODULES": "always_joy_runtime"}


def test_the_accuracy_metric_runs_the_model_through_the_registered_runtime(tmp_path, fake_hf_model):
    write_workflow(tmp_path, accuracy_workflow(tmp_path, fake_hf_model))

    result = olivine_cli("run", "--config", "workflow.json", "--no-progress", cwd=tmp_path, env=plugin_env(tmp_path))

    assert result.returncode == 0, result.stderr
    [stage] = json.loads((tmp_path / "out" / "run.json").read_text())["stages"]
    acc = stage["metrics"]["acc"]
    assert acc["accuracy_score"] == 0.25
    assert acc["_notes"][:2] == ["acc: 1/4 correct on hf",
                                 "expected 'anger', generated 'joy' after 'Text: Leave me alone.\\nTone: '"]


def test_the_registered_runtime_refuses_an_execution_provider_before_any_work(tmp_path, fake_hf_model):
    accelerators = [{"device": "gpu", "execution_providers": ["DmlExecutionProvider"]}]
    write_workflow(tmp_path, accuracy_workflow(tmp_path, fake_hf_model, accelerators=accelerators))

    result = olivine_cli("config", "validate", "workflow.json", cwd=tmp_path, env=plugin_env(tmp_path))

    assert result.returncode == 2
    assert ("systems.here.accelerators[0].execution_providers[0]: AlwaysJoy cannot run on DmlExecutionProvider"
            in result.stderr + result.stdout)
    assert "use CPUExecutionProvider" in result.stderr + result.stdout


NEW_FORMAT_PLUGIN = '''
import shutil

from olivine import ModelRef, ModelRuntime, Pass, hookimpl


class ToToy(Pass):
    """Turns an hf folder into a "toy" model (a copy, for the test)."""

    name = "ToToy"
    accepts = ("hf",)
    produces = "toy"

    def run(self, model, ctx):
        shutil.copytree(model.path, ctx.output_dir / "toy")
        return ModelRef(format="toy", path=ctx.output_dir / "toy")


class ToyRuntime(ModelRuntime):
    """Answers "fear" to every prompt."""

    name = "toy"

    def encode(self, text):
        return [ord(c) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids)

    def generate(self, prompts, max_new_tokens):
        return [self.encode("fear") for _ in prompts]


@hookimpl
def register_passes(register):
    register(ToToy)


@hookimpl
def register_runtimes(register):
    register(ToyRuntime)
'''


def test_a_format_a_plugin_brings_is_evaluated_by_the_built_in_metric_types(tmp_path, fake_hf_model):
    """No list of formats in core: accuracy runs whatever format an installed runtime loads."""
    (tmp_path / "toy_format.py").write_text(NEW_FORMAT_PLUGIN)
    env = {"PYTHONPATH": str(tmp_path), "OLIVINE_LOAD_PLUGINS": "", "OLIVINE_PLUGIN_MODULES": "toy_format"}
    workflow = accuracy_workflow(tmp_path, fake_hf_model)
    workflow["passes"] = {"toy": {"type": "ToToy"}}
    workflow["engine"]["evaluate_input_model"] = False
    write_workflow(tmp_path, workflow)

    result = olivine_cli("run", "--config", "workflow.json", "--no-progress", cwd=tmp_path, env=env)
    listed = olivine_cli("evaluators", "--json", env=env)

    assert result.returncode == 0, result.stderr
    [stage] = json.loads((tmp_path / "out" / "run.json").read_text())["stages"]
    assert stage["format"] == "toy" and stage["metrics"]["acc"]["accuracy_score"] == 0.25
    accuracy = next(row for row in json.loads(listed.stdout) if row["name"] == "accuracy")
    assert accuracy["accepts"] == ["toy"]
