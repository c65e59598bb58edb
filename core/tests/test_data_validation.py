"""Data problems are config errors with the JSON path the user wrote, found before any heavy import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from core_helpers import write_workflow
from olivine.engine import validate
from olivine.errors import ConfigErrors

PROMPT = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"


@pytest.fixture
def tone_file(tmp_path):
    path = tmp_path / "tones.jsonl"
    path.write_text("".join(json.dumps({"phrase": f"phrase {i}", "tone": "joy"}) + "\n" for i in range(10)))
    return path


def workflow(model, data_configs, **extra) -> dict:
    return {"input_model": {"type": "HfModel", "model_path": str(model)}, "data_configs": data_configs, **extra}


def current(tone_file, **pre) -> dict:
    return {"name": "train", "type": "HuggingfaceContainer",
            "load_dataset_config": {"data_name": "json", "data_files": str(tone_file), "split": "train"},
            "pre_process_data_config": pre}


def errors_of(tmp_path, config) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config))
    return [e.line() for e in caught.value.errors]


def test_valid_data_configs_in_both_spellings_pass(tmp_path, fake_hf_model, tone_file):
    old_style = {"name": "old", "type": "HuggingfaceContainer",
                 "params_config": {"data_name": "json", "data_files": str(tone_file), "split": "train[:80%]",
                                   "dataset_type": "corpus", "text_cols": ["phrase", "tone"],
                                   "text_template": "Text: {phrase}\nTone: {tone}", "corpus_strategy": "join",
                                   "source_max_len": 64, "pad_to_max_len": False, "use_attention_mask": False}}
    new_but_old_keys = current(tone_file, text_template="{phrase} {tone}", corpus_strategy="line-by-line",
                               source_max_len=32)
    new_but_old_keys["name"] = "mixed"
    plan = validate(write_workflow(tmp_path, workflow(fake_hf_model, [old_style, new_but_old_keys])))
    assert [d.name for d in plan.workflow.config.data_configs] == ["old", "mixed"]


def test_missing_file_names_its_path(tmp_path, fake_hf_model):
    config = workflow(fake_hf_model, [{"name": "d", "type": "HuggingfaceContainer", "load_dataset_config": {
        "data_name": "json", "data_files": {"train": "data/nowhere.jsonl"}}}])
    assert errors_of(tmp_path, config) == [
        f"data_configs[0].load_dataset_config.data_files.train: data file not found: {tmp_path}/data/nowhere.jsonl"]


def test_missing_column_and_unknown_placeholder_suggest_the_column(tmp_path, fake_hf_model, tone_file):
    config = workflow(fake_hf_model, [current(tone_file, text_cols=["phrase", "tonee"]),
                                      {**current(tone_file, prompt_template=PROMPT, completion_template="{tne}"),
                                       "name": "other"}])
    assert errors_of(tmp_path, config) == [
        "data_configs[0].pre_process_data_config.text_cols[1]: no column 'tonee' of the data (columns: phrase, tone) "
        "(did you mean tone?)",
        "data_configs[1].pre_process_data_config.completion_template: placeholder {tne} is not a column of the data "
        "(columns: phrase, tone) (did you mean tone?)",
    ]


def test_old_schema_errors_name_the_keys_the_user_wrote(tmp_path, fake_hf_model, tone_file):
    old = {"name": "d", "type": "HuggingfaceContainer",
           "load_dataset_config": {"params": {"data_name": "json", "data_files": str(tone_file)}},
           "pre_process_data_config": {"params": {"text_template": "{phrase} {tones}", "source_max_length": 8}}}
    assert errors_of(tmp_path, workflow(fake_hf_model, [old])) == [
        "data_configs[0].pre_process_data_config.params.source_max_length: unknown key (did you mean source_max_len?)",
    ]
    del old["pre_process_data_config"]["params"]["source_max_length"]
    assert errors_of(tmp_path, workflow(fake_hf_model, [old])) == [
        "data_configs[0].pre_process_data_config.params.text_template: placeholder {tones} is not a column of the "
        "data (columns: phrase, tone) (did you mean tone?)"]


def test_empty_and_unknown_splits(tmp_path, fake_hf_model, tone_file):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    sliced = current(tone_file)
    sliced["load_dataset_config"]["split"] = "train[:0%]"
    named = {**current(tone_file), "name": "named"}
    named["load_dataset_config"] = {"data_files": {"train": str(tone_file)}, "split": "tset"}
    nothing = {**current(empty), "name": "nothing"}
    assert errors_of(tmp_path, workflow(fake_hf_model, [sliced, named, nothing])) == [
        "data_configs[0].load_dataset_config.split: split 'train[:0%]' selects no rows",
        "data_configs[1].load_dataset_config.split: no split 'tset' in data_files (splits: train)",
        f"data_configs[2].load_dataset_config.data_files: data file has no rows: {empty}",
    ]


def test_pre_processing_option_conflicts(tmp_path, fake_hf_model, tone_file):
    both = current(tone_file, text_template="{phrase}", corpus_strategy="join", strategy="join")
    mixed = {**current(tone_file, text_template="{phrase}", completion_template="{tone}", prompt_template=PROMPT),
             "name": "mixed"}
    odd = {**current(tone_file, text_cols="phrase", strategy="joined"), "name": "odd"}
    lines = errors_of(tmp_path, workflow(fake_hf_model, [both, mixed, odd]))
    assert lines == [
        "data_configs[0].pre_process_data_config.corpus_strategy: same setting as strategy (its older name); "
        "keep one",
        "data_configs[1].pre_process_data_config.completion_template: a completion-only config has no text_template "
        "or text_cols (use prompt_template + completion_template, or the corpus form)",
        "data_configs[2].pre_process_data_config.strategy: unknown strategy 'joined' (did you mean join?)",
    ]


def test_accuracy_metric_needs_a_prompt_label_form(tmp_path, fake_hf_model, tone_file):
    config = workflow(fake_hf_model, [current(tone_file, text_cols=["phrase"])], evaluators={"e": {"metrics": [
        {"name": "acc", "type": "accuracy", "sub_types": [{"name": "accuracy_score"}], "data_config": "train"},
        {"name": "acc2", "type": "accuracy", "sub_types": [{"name": "accuracy_score"}]},
    ]}}, engine={"evaluator": "e"})
    assert errors_of(tmp_path, config) == [
        "evaluators.e.metrics[0].data_config: train: cannot tell prompts from labels (give prompt_template + "
        "completion_template, or a text_template ending in the label placeholder)",
        "evaluators.e.metrics[1].data_config: accuracy needs a data config (data configs defined: train)",
    ]


def test_validation_imports_no_data_library(tmp_path, fake_hf_model, tone_file):
    config = write_workflow(tmp_path, workflow(fake_hf_model, [current(tone_file, text_cols=["phrase", "tonee"])]))
    code = ("import sys\nfrom olivine.engine import validate\nfrom olivine.errors import ConfigErrors\n"
            f"try:\n    validate({str(config)!r})\nexcept ConfigErrors as e:\n    print(e)\n"
            "print(sorted(m for m in ('datasets', 'torch', 'transformers', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == [
        "data_configs[0].pre_process_data_config.text_cols[1]: no column 'tonee' of the data (columns: phrase, tone) "
        "(did you mean tone?)", "[]"]


def test_parquet_files_and_file_patterns_are_checked_before_any_work(tmp_path, fake_hf_model, tone_file):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"phrase": ["a", "b"], "tone": ["joy", "fear"]}), str(tmp_path / "tones.parquet"))
    parquet = {"name": "p", "type": "HuggingfaceContainer",
               "load_dataset_config": {"data_name": "parquet", "data_files": str(tmp_path / "tones.parquet")},
               "pre_process_data_config": {"prompt_template": PROMPT, "completion_template": "{tones}"}}
    empty = {**parquet, "name": "e", "load_dataset_config": {**parquet["load_dataset_config"], "split": "train[:0%]"},
             "pre_process_data_config": {"text_cols": ["phrase"]}}
    (tmp_path / "parts").mkdir()
    for part in ("a", "b"):
        (tmp_path / "parts" / f"{part}.jsonl").write_text(tone_file.read_text())
    pattern = {**current(tone_file, text_cols=["phrase", "tonee"]), "name": "g"}
    pattern["load_dataset_config"]["data_files"] = "parts/*.jsonl"
    nothing = {**current(tone_file, text_cols=["phrase"]), "name": "n"}
    nothing["load_dataset_config"] = {**nothing["load_dataset_config"], "data_files": "missing/*.jsonl"}
    assert errors_of(tmp_path, workflow(fake_hf_model, [parquet, empty, pattern, nothing])) == [
        "data_configs[0].pre_process_data_config.completion_template: placeholder {tones} is not a column of the data "
        "(columns: phrase, tone) (did you mean tone?)",
        "data_configs[1].load_dataset_config.split: split 'train[:0%]' selects no rows",
        "data_configs[2].pre_process_data_config.text_cols[1]: no column 'tonee' of the data (columns: phrase, tone) "
        "(did you mean tone?)",
        f"data_configs[3].load_dataset_config.data_files: no data file matches {tmp_path}/missing/*.jsonl",
    ]
