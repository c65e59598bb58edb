"""Olive's old (Phi-3 cookbook) schema and the current one load into the same workflow."""

from __future__ import annotations

import json

from core_helpers import olivine_cli, write_workflow
from olivine.config.loader import load_workflow

COOKBOOK = {
    "input_model": {"type": "PyTorchModel", "config": {"hf_config": {
        "model_name": "models/fake", "task": "text-generation", "model_loading_args": {"trust_remote_code": True}}}},
    "systems": {"aml": {"type": "LocalSystem", "config": {"accelerators": ["gpu"]}}},
    "data_configs": [{
        "name": "dataset_default_train", "type": "HuggingfaceContainer",
        "load_dataset_config": {"params": {"data_name": "json", "data_files": "dataset/data.json", "split": "train"}},
        "pre_process_data_config": {"params": {
            "dataset_type": "corpus", "text_cols": ["phrase", "tone"],
            "text_template": "### Text: {phrase}\n### The tone is:\n{tone}", "corpus_strategy": "join",
            "source_max_len": 2048, "pad_to_max_len": False, "use_attention_mask": False}},
    }],
    "passes": {"touch": {"type": "Touch", "config": {"label": "x"}}},
    "engine": {"log_severity_level": 0, "host": "aml", "target": "aml", "search_strategy": False,
               "execution_providers": ["CUDAExecutionProvider"], "cache_dir": "cache", "output_dir": "out"},
}

CURRENT = {
    "input_model": {"type": "HfModel", "model_path": "models/fake", "task": "text-generation",
                    "load_kwargs": {"trust_remote_code": True}},
    "systems": {"aml": {"type": "LocalSystem",
                        "accelerators": [{"device": "gpu", "execution_providers": ["CUDAExecutionProvider"]}]}},
    "data_configs": [{
        "name": "dataset_default_train", "type": "HuggingfaceContainer",
        "load_dataset_config": {"data_name": "json", "data_files": "dataset/data.json", "split": "train"},
        "pre_process_data_config": {
            "dataset_type": "corpus", "text_cols": ["phrase", "tone"],
            "text_template": "### Text: {phrase}\n### The tone is:\n{tone}", "strategy": "join",
            "max_seq_len": 2048, "pad_to_max_len": False, "use_attention_mask": False},
    }],
    "passes": {"touch": {"type": "Touch", "label": "x"}},
    "log_severity_level": 0, "host": "aml", "target": "aml", "search_strategy": False, "cache_dir": "cache",
    "output_dir": "out",
}


def test_cookbook_and_current_schema_give_the_same_workflow(tmp_path):
    old = load_workflow(write_workflow(tmp_path, COOKBOOK, "old.json"))
    new = load_workflow(write_workflow(tmp_path, CURRENT, "new.json"))
    assert old.config.model_dump() == new.config.model_dump()
    assert old.migration.changed and not new.migration.changed


def test_migrate_prints_current_schema_that_loads_unchanged(tmp_path, test_plugins):
    result = olivine_cli("config", "migrate", str(write_workflow(tmp_path, COOKBOOK, "old.json")))
    assert result.returncode == 0, result.stderr
    migrated = json.loads(result.stdout)
    assert migrated["input_model"] == CURRENT["input_model"]
    assert migrated["passes"] == CURRENT["passes"]
    assert "engine.execution_providers -> systems.aml.accelerators[0].execution_providers" in result.stderr
    again = load_workflow(write_workflow(tmp_path, migrated, "migrated.json"))
    assert not again.migration.changed


def test_very_old_params_config_and_component_kwargs(tmp_path):
    cfg = {"input_model": {"type": "HfModel", "model_path": "m"},
           "data_configs": [{"name": "d", "type": "HuggingfaceContainer",
                             "params_config": {"data_name": "json", "data_files": "x.json", "split": "train",
                                               "text_cols": ["a"]},
                             "component_kwargs": {"pre_process_data": {"corpus_strategy": "line-by-line"}}}]}
    data = load_workflow(write_workflow(tmp_path, cfg)).config.data_configs[0]
    assert data.load_dataset_config == {"data_name": "json", "data_files": "x.json", "split": "train"}
    assert data.pre_process_data_config == {"text_cols": ["a"], "strategy": "line-by-line"}


def test_execution_providers_without_systems_create_a_local_target(tmp_path):
    cfg = {"input_model": {"type": "HfModel", "model_path": "m"},
           "engine": {"execution_providers": ["CPUExecutionProvider"]}}
    config = load_workflow(write_workflow(tmp_path, cfg)).config
    assert config.engine.target == "local_system"
    system = config.systems["local_system"]
    assert system.type == "LocalSystem"
    expected = [{"device": "cpu", "execution_providers": ["CPUExecutionProvider"]}]
    assert system.system_config()["accelerators"] == expected


def test_schema_command_lists_installed_pass_configs(test_plugins):
    result = olivine_cli("config", "schema")
    schema = json.loads(result.stdout)
    # Each pass: its flat form, then the old schema's config wrapper.
    flat = [entry["anyOf"][0] for entry in schema["$defs"]["PassEntry"]["anyOf"]]
    assert "Touch" in {entry["title"] for entry in flat}
    touch = next(e for e in flat if e["title"] == "Touch")
    assert touch["additionalProperties"] is False and "label" in touch["properties"]
