"""Bad configs of every kind: one line naming the JSON path, exit status 2, no traceback, no work done."""

from __future__ import annotations

import json

import pytest
from core_helpers import olivine_cli, pydantic_says, touch_workflow, write_workflow
from olivine.engine import validate
from olivine.errors import ConfigErrors


def errors_of(path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        validate(path)
    return [e.line() for e in info.value.errors]


def test_misspelled_pass_key_names_path_and_suggests(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"]["lable"] = "x"
    assert errors_of(write_workflow(tmp_path, cfg)) == ["passes.a.lable: unknown key (did you mean label?)"]


def test_old_schema_error_points_at_the_key_the_user_wrote(tmp_path, fake_hf_model, test_plugins):
    cfg = {
        "input_model": {"type": "PyTorchModel", "config": {"hf_config": {"model_name": str(fake_hf_model)}}},
        "passes": {"t": {"type": "Touch", "config": {"lable": "x"}}},
        "engine": {"cache_dir": "cache"},
    }
    assert errors_of(write_workflow(tmp_path, cfg)) == ["passes.t.config.lable: unknown key (did you mean label?)"]


def test_unknown_pass_type_suggests_installed_one(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"]["type"] = "Tuoch"
    expected = "passes.a.type: unknown pass type 'Tuoch' (did you mean Touch?)"
    assert errors_of(write_workflow(tmp_path, cfg)) == [expected]


def test_unknown_top_level_and_engine_keys(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["engine"]["ouput_dir"] = "x"
    cfg["pases"] = {}
    lines = sorted(errors_of(write_workflow(tmp_path, cfg)))
    assert lines == ["engine.ouput_dir: unknown key (did you mean output_dir?)",
                     "pases: unknown key (did you mean passes?)"]


def test_missing_model_folder_is_neither_folder_nor_hub_id(tmp_path, test_plugins):
    cfg = {"input_model": {"type": "HfModel", "model_path": "./models/phi3"}, "passes": {"a": {"type": "Touch"}}}
    [line] = errors_of(write_workflow(tmp_path, cfg))
    assert line.startswith("input_model.model_path: './models/phi3' is neither a local folder")


def test_model_name_resolves_from_local_hf_cache(tmp_path, test_plugins, monkeypatch):
    snapshot = tmp_path / "hf" / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc123")
    # huggingface_hub reads HF_HOME once, at import: point its cache constant here (offline, as tests run)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cfg = {"input_model": {"type": "HfModel", "model_path": "acme/tiny"}, "passes": {"a": {"type": "Touch"}}}
    plan = validate(write_workflow(tmp_path, cfg))
    assert plan.input_path == snapshot


def test_missing_data_file_is_found_before_any_work(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["data_configs"] = [{"name": "train", "type": "HuggingfaceContainer",
                            "load_dataset_config": {"data_name": "json", "data_files": "data/missing.jsonl"}}]
    [line] = errors_of(write_workflow(tmp_path, cfg))
    assert line == f"data_configs[0].load_dataset_config.data_files: data file not found: {tmp_path}/data/missing.jsonl"


def test_impossible_chain_is_a_config_error(tmp_path, fake_hf_model, test_plugins):
    cfg = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
           "passes": {"adapt": {"type": "ToAdapter"}, "touch": {"type": "Touch"}}}
    [line] = errors_of(write_workflow(tmp_path, cfg))
    assert line == ("passes.touch.type: Touch accepts hf models, but the model reaching it is hf+adapter "
                    "(add a MergeAdapterWeights pass before it)")


def test_unknown_system_and_evaluator_names(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), host="local_sytem", evaluator="common")
    cfg["systems"] = {"local_system": {"type": "LocalSystem", "accelerators": ["cpu"]}}
    lines = errors_of(write_workflow(tmp_path, cfg))
    assert "engine.host: no system named 'local_sytem' (did you mean local_system?)" in lines
    assert "engine.evaluator: no evaluator named 'common' (evaluators defined: none)" in lines


def test_invalid_json_names_file_line_and_column(tmp_path, test_plugins):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "input_model": {"type": "HfModel",}\n}')
    result = olivine_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}:2:37: invalid JSON: Expecting property name "
                                                  "enclosed in double quotes"]


def test_cli_bad_config_is_one_line_exit_2_and_debug_shows_traceback(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"]["lable"] = "x"
    path = write_workflow(tmp_path, cfg)
    result = olivine_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: passes.a.lable: unknown key (did you mean label?)"
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    debug = olivine_cli("run", "--config", str(path), "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_yaml_config_loads(tmp_path, fake_hf_model, test_plugins):
    path = tmp_path / "workflow.yaml"
    path.write_text(f"input_model:\n  type: HfModel\n  model_path: {fake_hf_model}\npasses:\n  a:\n    type: Touch\n")
    plan = validate(path)
    assert [p.type for p in plan.passes] == ["Touch"]


def test_missing_config_file(tmp_path):
    result = olivine_cli("config", "validate", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.json'}: config file not found"


def test_several_errors_reported_together(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a", "b"))
    cfg["passes"]["a"]["lable"] = 1
    cfg["passes"]["b"]["sleep"] = "long"
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, cfg)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: passes.a.lable: unknown key (did you mean label?)"
    assert lines[1] == f"error: passes.b.sleep: {pydantic_says(float, 'long')} (got 'long')"
    assert json.loads(json.dumps(lines))  # plain text lines, no traceback


def test_olive_settings_olivine_does_not_act_on_are_refused_by_name(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), plot_pareto_frontier=True)
    cfg["data_configs"] = [{"name": "d", "user_script": "user.py", "dataloader_config": {"batch_size": 4}}]
    lines = errors_of(write_workflow(tmp_path, cfg))
    assert "engine.plot_pareto_frontier: not supported by olivine (run.json lists every search candidate with its " \
           "metrics)" in lines
    assert "data_configs[0].user_script: user scripts are not run by olivine; write a plugin instead " \
           "(docs/plugins.md)" in lines
    assert any(line.startswith("data_configs[0].dataloader_config: not used by olivine") for line in lines)


def test_clean_cache_and_workflow_id_take_effect(tmp_path, fake_hf_model, test_plugins):
    from olivine.engine import run

    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",), workflow_id="tones"))
    run(path, show_progress=False)
    cfg = touch_workflow(fake_hf_model, labels=("a",), workflow_id="tones", clean_cache=True)
    outcome = run(write_workflow(tmp_path, cfg), show_progress=False)
    assert [r.cache_hit for r in outcome.passes] == [False]
    assert outcome.run["workflow_id"] == "tones"


def test_unknown_pass_type_mentions_a_plugin_that_failed_to_load(tmp_path, fake_hf_model, test_plugins, monkeypatch):
    monkeypatch.setenv("OLIVINE_PLUGIN_MODULES", "olivine_testpasses,olivine_missing_vendor.hooks")
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"]["type"] = "VendorQuantize"
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, cfg)))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: passes.a.type: unknown pass type 'VendorQuantize' (not installed, or provided by a plugin that "
        "failed to load: olivine_missing_vendor.hooks (local); see olivine plugins)")


def test_every_evaluator_is_checked_once_used_or_not(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a", "b"))
    metric = {"name": "m", "type": "size", "sub_types": [{"name": "bytes"}]}
    cfg["evaluators"] = {
        "used": {"metrics": [{**metric, "type": "sise"}]},
        "unused": {"metrics": [{**metric, "sub_types": [{"name": "bytes", "goal": {"type": "thresold", "value": 1}}]}]},
    }
    cfg["engine"]["evaluator"] = "used"
    for key in ("a", "b"):
        cfg["passes"][key]["evaluator"] = "used"
    lines = errors_of(write_workflow(tmp_path, cfg))
    assert [line for line in lines if line.startswith("evaluators.used.")] == [
        "evaluators.used.metrics[0].type: unknown evaluator type 'sise' (did you mean size?)"]
    assert any(line.startswith("evaluators.unused.metrics[0].sub_types[0].goal.type: ") for line in lines)


def test_olive_pass_flows_are_refused_by_name(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a", "b"))
    cfg["pass_flows"] = [["a"], ["a", "b"]]
    assert errors_of(write_workflow(tmp_path, cfg)) == [
        "pass_flows: not supported by olivine (passes run in the order written; write one workflow per flow (they "
        "share the cache))"]
