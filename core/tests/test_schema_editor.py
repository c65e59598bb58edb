"""`olivine config schema` is what editors validate workflow files with: it must accept every workflow we
ship or document (both Olive schemas), and reject what `olivine config validate` rejects."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from core_helpers import olivine_cli
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_SRC = ROOT / "examples" / "plugin-template" / "src"
# The docs' plugin examples use the template's AcmeTag pass: the schema is made with it loaded.
WITH_TEMPLATE = {"OLIVINE_PLUGIN_MODULES": "olivine_acme.hooks",
                 "PYTHONPATH": os.pathsep.join([str(TEMPLATE_SRC), os.environ.get("PYTHONPATH", "")])}
DOCS = sorted([*ROOT.glob("docs/**/*.md"), *ROOT.glob("plugins/*/README.md"), *ROOT.glob("examples/*/README.md"),
               ROOT / "README.md"])
# Microsoft's published Olive recipes (Olive's current schema), as the Olive compatibility tests keep them.
OLIVE_RECIPES = sorted(p for p in ROOT.glob("tests/olive_configs/*.json") if p.name != "sources.json")
# What running an example writes beside it (the folders .gitignore ignores): caches, outputs, the tiny model.
EXAMPLE_OUTPUTS = {"out", "cache", "models"}


def _written_by_a_run(path: Path) -> bool:
    parts = path.relative_to(ROOT / "examples").parts[1:-1]
    return any(part in EXAMPLE_OUTPUTS or part.startswith("out-") for part in parts)


EXAMPLES = sorted(p for p in [*ROOT.glob("examples/**/*.json"), *ROOT.glob("examples/**/*.y*ml")]
                  if "plugin-template" not in p.parts and not _written_by_a_run(p))


@pytest.fixture(scope="module")
def schema() -> dict:
    result = olivine_cli("config", "schema", env=WITH_TEMPLATE)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    return schema


def problems(schema: dict, config: dict, fragment: bool = False) -> list[str]:
    if fragment:  # a snippet shows one section: the sections it leaves out are not missing
        schema = {**copy.deepcopy(schema), "required": []}
    validator = Draft202012Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message[:300]}"
            for e in validator.iter_errors(config)]


def doc_snippets() -> list[tuple[str, str]]:
    snippets = []
    for doc in DOCS:
        for i, match in enumerate(re.finditer(r"```json\n(.*?)```", doc.read_text(), re.S)):
            snippets.append((f"{doc.relative_to(ROOT)}#{i}", match.group(1)))
    return snippets


def as_workflow(text: str, schema: dict) -> dict | None:
    """The snippet as (part of) a workflow, or None when it is not a workflow config (a report, a spec)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = json.loads("{" + text.strip().rstrip(",") + "}")  # a section: `"passes": {...}`
        except json.JSONDecodeError:
            return None  # alternatives side by side, or elided with "..."
    if not isinstance(data, dict):
        return None
    if set(data) <= set(schema["properties"]):
        return data
    pass_types = {entry["anyOf"][0]["title"].lower() for entry in schema["$defs"]["PassEntry"]["anyOf"]}
    if all(isinstance(v, dict) and str(v.get("type")).lower() in pass_types for v in data.values()):
        return {"passes": data}  # pass entries: `"lora": {"type": "LoRA", ...}`
    return None


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_every_example_workflow_validates_against_the_schema(schema, path):
    config = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    assert problems(schema, config) == []


@pytest.mark.parametrize("path", OLIVE_RECIPES, ids=[p.name for p in OLIVE_RECIPES])
def test_every_olive_recipe_validates_against_the_schema(schema, path):
    assert problems(schema, json.loads(path.read_text())) == []


def test_the_examples_cover_both_olive_schemas_and_loras_olive_names():
    texts = {p.name: p.read_text() for p in EXAMPLES if "phi3-emotion" in p.parts}
    assert '"hf_config"' in texts["olive-config.json"] and '"config"' in texts["olive-config.json"]
    assert '"lora_alpha"' in texts["workflow.json"] and '"warmup_ratio"' in texts["workflow.json"]


def test_every_workflow_snippet_in_the_docs_validates_against_the_schema(schema):
    checked, failures = 0, {}
    for label, text in doc_snippets():
        config = as_workflow(text, schema) if '"..."' not in text else None  # placeholders
        if config is None:
            continue
        checked += 1
        found = problems(schema, config, fragment="input_model" not in config)
        if found:
            failures[label] = found
    assert failures == {}
    assert checked >= 15, "the docs lost their config examples, or this test stopped finding them"


def test_the_schema_key_and_top_level_engine_fields_are_accepted(schema):
    config = {"$schema": "https://example.org/olivine.json", "input_model": {"model_path": "m"},
              "output_dir": "out", "cache_dir": "cache"}
    assert problems(schema, config) == []


# Each is wrong in one place; the schema and `config validate` must both reject it.
BAD = {
    "unknown top-level key": {"pases": {}},
    "unknown pass key": {"passes": {"lora": {"type": "LoRA", "train_data_config": "d", "lora_rr": 8}}},
    "lora_r not a number": {"passes": {"lora": {"type": "LoRA", "train_data_config": "d", "lora_r": "sixteen"}}},
    "misspelled training arg": {"passes": {"lora": {"type": "LoRA", "train_data_config": "d",
                                                    "training_args": {"learnig_rate": 0.1}}}},
    "unknown pass type": {"passes": {"x": {"type": "NoSuchPass"}}},
    "pass without its type": {"passes": {"x": {"precision": "int4"}}},
    "bad ModelBuilder key in an old config wrapper": {"passes": {"b": {"type": "ModelBuilder",
                                                                       "config": {"precison": "int4"}}}},
    "unknown engine key": {"engine": {"cache_dirr": "c"}},
    "log level not a number": {"engine": {"log_severity_level": "high"}},
    "unknown data config key": {"data_configs": [{"name": "d", "load_dataset_confg": {}}]},
    "unknown metric key": {"evaluators": {"e": {"metrics": [{"name": "a", "type": "accuracy", "goall": 1}]}}},
    "unknown system key": {"systems": {"s": {"type": "LocalSystem", "acelerators": ["cpu"]}}},
    "old hf_config key misspelled": {"input_model": {"type": "PyTorchModel", "config": {
        "hf_config": {"model_name": "models/tiny", "model_loading_argss": {}}}}},
}


@pytest.mark.parametrize("name", list(BAD))
def test_the_schema_and_config_validate_reject_the_same_bad_config(schema, tmp_path, name):
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "config.json").write_text("{}")
    (tmp_path / "d.jsonl").write_text('{"a": "x", "b": "y"}\n')
    config = {"input_model": {"type": "HfModel", "model_path": "models/tiny"},
              "data_configs": [{"name": "d", "load_dataset_config": {"data_name": "json", "data_files": "d.jsonl"},
                                "pre_process_data_config": {"prompt_template": "{a}", "completion_template": "{b}"}}],
              **BAD[name]}
    (tmp_path / "wf.json").write_text(json.dumps(config))

    result = olivine_cli("config", "validate", "--json", str(tmp_path / "wf.json"))

    assert problems(schema, config), "the schema accepts it"
    assert result.returncode == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert not report["valid"] and report["errors"]
    assert all(set(error) == {"path", "message"} and error["message"] for error in report["errors"])


def test_the_base_config_of_the_bad_ones_is_valid_for_both(schema, tmp_path):
    """The bad configs differ from this one in one place only: it passes both, so each rejection is the flaw."""
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "config.json").write_text("{}")
    (tmp_path / "d.jsonl").write_text('{"a": "x", "b": "y"}\n')
    config = {"input_model": {"type": "HfModel", "model_path": "models/tiny"},
              "data_configs": [{"name": "d", "load_dataset_config": {"data_name": "json", "data_files": "d.jsonl"},
                                "pre_process_data_config": {"prompt_template": "{a}", "completion_template": "{b}"}}],
              "systems": {"s": {"type": "LocalSystem", "accelerators": ["cpu"]}},
              "evaluators": {"e": {"metrics": [{"name": "a", "type": "accuracy", "data_config": "d"}]}},
              "passes": {"lora": {"type": "LoRA", "train_data_config": "d", "lora_r": 8,
                                  "training_args": {"learning_rate": 0.1, "max_steps": 1}},
                         "b": {"type": "MergeAdapterWeights"}},
              "engine": {"cache_dir": "c", "log_severity_level": 2}}
    (tmp_path / "wf.json").write_text(json.dumps(config))

    result = olivine_cli("config", "validate", "--json", str(tmp_path / "wf.json"))

    assert problems(schema, config) == []
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["valid"]
