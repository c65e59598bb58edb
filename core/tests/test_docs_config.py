"""docs/config.md shows the cookbook workflow in both schemas; they must stay the same workflow."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from core_helpers import olivine_cli
from olivine.config.loader import load_workflow

CONFIG_DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def doc_example(label: str) -> str:
    match = re.search(rf"<!-- example: {label} -->\n```json\n(.*?)```", CONFIG_DOC.read_text(), re.S)
    assert match, f"docs/config.md lost its '{label}' example"
    return match.group(1)


def test_the_old_and_current_examples_load_into_the_same_workflow(tmp_path):
    (tmp_path / "old.json").write_text(doc_example("old"))
    (tmp_path / "current.json").write_text(doc_example("current"))

    old = load_workflow(tmp_path / "old.json")
    current = load_workflow(tmp_path / "current.json")

    assert old.config.model_dump() == current.config.model_dump()
    assert old.migration.changed and not current.migration.changed


def test_migrate_prints_the_current_example_and_the_documented_notes(tmp_path):
    (tmp_path / "phrase-classification.json").write_text(doc_example("old"))

    result = olivine_cli("config", "migrate", str(tmp_path / "phrase-classification.json"))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(doc_example("current"))
    documented = re.search(r"and on stderr:\n\n```\n(.*?)```", CONFIG_DOC.read_text(), re.S).group(1)
    assert [line for line in result.stderr.splitlines() if line.startswith("migrated: ")] == documented.splitlines()


TEMPLATE_SRC = Path(__file__).resolve().parents[2] / "examples" / "plugin-template" / "src"
MODEL = {"type": "HfModel", "model_path": "models/tiny"}
DOCUMENTED_ERRORS = [
    ({"input_model": MODEL, "pases": {}}, "error: pases: unknown key (did you mean passes?)"),
    ({"input_model": MODEL, "passes": {"tag": {"type": "AcmeTagg"}}},
     "error: passes.tag.type: unknown pass type 'AcmeTagg' (did you mean AcmeTag?)"),
    ({"input_model": MODEL, "passes": {"tag": {"type": "AcmeTag", "tga": "x"}}},
     "error: passes.tag.tga: unknown key (did you mean tag?)"),
    ({"input_model": MODEL, "passes": {"tag": {"type": "AcmeTag", "config": {"tga": "x"}}}},
     "error: passes.tag.config.tga: unknown key (did you mean tag?)"),
    ({"input_model": {"type": "PyTorchModel", "config": {"hf_config": {"model_name": "models/tiny",
                                                                       "model_loading_argss": {}}}}},
     "error: input_model.config.hf_config.model_loading_argss: unknown key (did you mean load_kwargs?)"),
    ({"input_model": {"type": "HfModel"}}, "error: input_model.model_path: required key is missing"),
    ({"input_model": {"type": "FooModel", "model_path": "models/tiny"}},
     "error: input_model.type: unknown input model type (did you mean HfModel?) (got 'FooModel')"),
    ({"input_model": MODEL, "engine": {"log_severity_level": 7}},
     "error: engine.log_severity_level: must be 0 (verbose) to 4 (fatal) (got 7)"),
    ({"input_model": MODEL, "engine": {"search_strategy": {"samplr": "tpe"}}},
     "error: engine.search_strategy.samplr: unknown key (did you mean sampler?)"),
    ({"input_model": MODEL, "engine": {"host": "gpu_box"}},
     "error: engine.host: no system named 'gpu_box' (systems defined: none)"),
    ({"input_model": MODEL, "evaluators": {"e": {"metrics": [{"name": "acc", "type": "accuracy", "data_config": "tst",
                                                              "sub_types": [{"name": "acuracy"}]}]}},
      "engine": {"evaluator": "e"}},
     "error: evaluators.e.metrics[0].sub_types[0].name: unknown accuracy sub type 'acuracy' "
     "(did you mean accuracy_score?)"),
]


@pytest.mark.parametrize(("config", "line"), DOCUMENTED_ERRORS, ids=[line[7:40] for _, line in DOCUMENTED_ERRORS])
def test_the_documented_error_messages_are_what_olivine_prints(tmp_path, config, line):
    """Each message of the Errors table, produced for real (AcmeTag from the template's source, uninstalled)."""
    assert f"`{line}`" in CONFIG_DOC.read_text(), "the message is no longer in docs/config.md"
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "config.json").write_text("{}")
    (tmp_path / "wf.json").write_text(json.dumps(config))
    env = {"OLIVINE_PLUGIN_MODULES": "olivine_acme.hooks",
           "PYTHONPATH": os.pathsep.join([str(TEMPLATE_SRC), os.environ.get("PYTHONPATH", "")])}

    result = olivine_cli("config", "validate", str(tmp_path / "wf.json"), env=env)

    assert result.returncode == 2
    assert line in result.stderr.splitlines()
