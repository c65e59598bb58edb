"""What a user of Olive, the Trainer or the llm CLI types: the workflow as an argument, -v/-q/--log_level,
Olive's `olive run` options, `config validate --json`, `show` for every kind, aligned tables, YAML positions."""

from __future__ import annotations

import json

import pytest
from core_helpers import olivine_cli, touch_workflow, write_workflow
from olivine.cli.run_cmds import OLIVE_REFUSED


def test_run_takes_the_workflow_as_its_argument_and_names_the_model_in_the_summary(tmp_path, fake_hf_model,
                                                                                   test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))

    result = olivine_cli("run", str(path), "--no-progress")

    assert result.returncode == 0, result.stderr
    assert f"model: {tmp_path / 'out' / 'model'}" in result.stdout.splitlines()
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_olive_output_path_and_tempdir_are_honoured(tmp_path, fake_hf_model, test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))

    result = olivine_cli("run", "--config", str(path), "--output_path", str(tmp_path / "elsewhere"),
                         "--tempdir", str(tmp_path / "tmp"), "-q")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "model").is_dir() and (tmp_path / "tmp").is_dir()
    assert "INFO" not in result.stderr  # -q: warnings and errors only


@pytest.mark.parametrize("option", sorted(OLIVE_REFUSED))
def test_olive_run_options_olivine_does_not_use_are_refused_with_what_to_do(tmp_path, option):
    flag = "--" + option
    args = [flag] if option in ("setup", "packages") else [flag, "x"]

    result = olivine_cli("run", "workflow.json", *args, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and OLIVE_REFUSED[option] in result.stderr


def test_olive_log_level_and_verbose_flags_are_accepted(tmp_path, fake_hf_model, test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))

    default = olivine_cli("run", str(path), "--no-progress")
    warnings_only = olivine_cli("run", str(path), "--log_level", "2")
    quiet = olivine_cli("-q", "run", str(path))

    assert default.returncode == 0 and "INFO olivine" in default.stderr
    assert warnings_only.returncode == 0 and warnings_only.stderr == ""
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_config_validate_json_lists_every_error_with_its_path(tmp_path, fake_hf_model):
    config = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
              "pases": {}, "engine": {"log_severity_level": 9}}
    path = write_workflow(tmp_path, config)

    result = olivine_cli("config", "validate", "--json", str(path))

    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert sorted(e["path"] for e in report["errors"]) == ["engine.log_severity_level", "pases"]


def test_one_bad_value_gives_one_error(tmp_path, fake_hf_model):
    """report_to is a name or a list of names: a bad name used to fail both and print two errors."""
    (tmp_path / "d.jsonl").write_text('{"a": "x", "b": "y"}\n')
    config = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
              "data_configs": [{"name": "d", "load_dataset_config": {"data_name": "json", "data_files": "d.jsonl"},
                                "pre_process_data_config": {"prompt_template": "{a}", "completion_template": "{b}"}}],
              "passes": {"lora": {"type": "LoRA", "train_data_config": "d",
                                  "training_args": {"report_to": "no-such-tracker"}}}}

    result = olivine_cli("config", "validate", "--json", str(write_workflow(tmp_path, config)))

    assert [e["path"] for e in json.loads(result.stdout)["errors"]] == ["passes.lora.training_args.report_to"]


def test_config_validate_reports_settings_with_no_effect(tmp_path, fake_hf_model):
    (tmp_path / "d.jsonl").write_text('{"a": "x", "b": "y"}\n')
    config = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
              "data_configs": [{"name": "d", "load_dataset_config": {"data_name": "json", "data_files": "d.jsonl"},
                                "pre_process_data_config": {"prompt_template": "{a}", "completion_template": "{b}"}}],
              "passes": {"lora": {"type": "LoRA", "train_data_config": "d",
                                  "training_args": {"neftune_noise_alpha": 5.0, "push_to_hub": True}}}}
    path = write_workflow(tmp_path, config)

    text = olivine_cli("config", "validate", str(path))
    report = json.loads(olivine_cli("config", "validate", "--json", str(path)).stdout)

    assert text.returncode == 0, text.stderr
    noted = {n["path"] for n in report["notes"]}
    assert {"passes.lora.training_args.neftune_noise_alpha", "passes.lora.training_args.push_to_hub"} <= noted
    assert all(path in text.stdout for path in noted)


def test_yaml_errors_give_file_line_and_column(tmp_path):
    path = tmp_path / "workflow.yaml"
    path.write_text("input_model:\n  type: HfModel\n   model_path: m\n")

    result = olivine_cli("config", "validate", str(path))

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}:3:")


@pytest.mark.parametrize(("kind", "name"), [("passes", "Touch"), ("systems", "LocalSystem"),
                                            ("evaluators", "accuracy")])
def test_every_kind_has_show(kind, name, test_plugins):
    result = olivine_cli(kind, "show", name)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["name"] == name and "properties" in shown["config_schema"]


@pytest.mark.parametrize("kind", ["passes", "systems", "evaluators", "plugins"])
def test_listings_have_a_header_and_aligned_columns(kind, test_plugins):
    lines = olivine_cli(kind).stdout.splitlines()

    assert lines[0].split()[0] in ("NAME", "PLUGIN")
    second = lines[0].split()[1]
    column = lines[0].index(second)
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines[1:])


def test_olive_metric_names_size_on_disk_and_throughput_are_evaluators():
    names = {row["name"] for row in json.loads(olivine_cli("evaluators", "--json").stdout)}

    assert {"size_on_disk", "throughput"} <= names
