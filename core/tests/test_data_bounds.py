"""Data a run cannot hold or read is refused before any work: one line naming the key or the file.

The memory limit is half of the machine's available memory; the cases here ask for hundreds of
terabytes, so they are refused on any machine, and the sane case asks for kilobytes.
"""

from __future__ import annotations

import json

import pytest
from core_helpers import olivine_cli, write_workflow
from olivine.config.schema import DataConfig
from olivine.data import load_rows, training_examples
from olivine.data.memory import available_bytes
from olivine.engine import validate
from olivine.errors import ConfigError, ConfigErrors

HUGE = 1_000_000_000_000  # positions a row: with 64 bytes each, ~640 TB for ten rows


@pytest.fixture
def tones(tmp_path):
    path = tmp_path / "tones.jsonl"
    path.write_text("".join(json.dumps({"phrase": f"phrase {i}", "tone": "joy"}) + "\n" for i in range(10)))
    return path


def workflow(model, load: dict, pre: dict) -> dict:
    return {"input_model": {"type": "HfModel", "model_path": str(model)},
            "data_configs": [{"name": "train", "type": "HuggingfaceContainer",
                              "load_dataset_config": {"split": "train", **load}, "pre_process_data_config": pre}]}


def errors_of(tmp_path, config) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        validate(write_workflow(tmp_path, config))
    return [e.line() for e in caught.value.errors]


def test_a_max_seq_len_no_machine_can_hold_is_refused_through_the_cli(tmp_path, fake_hf_model, tones):
    assert available_bytes() is not None  # Linux: /proc/meminfo
    config = workflow(fake_hf_model, {"data_name": "json", "data_files": str(tones)},
                      {"text_template": "{phrase} {tone}", "max_seq_len": HUGE})
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, config)))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: data_configs[0].pre_process_data_config.max_seq_len: ")
    assert "10 rows" in errors[0] and "GiB" in errors[0] and "available memory" in errors[0]
    assert "Traceback" not in result.stderr


def test_the_old_spelling_is_named_and_join_without_padding_is_bounded_by_the_text(tmp_path, fake_hf_model, tones):
    old = workflow(fake_hf_model, {"data_name": "json", "data_files": str(tones)},
                   {"text_template": "{phrase}", "source_max_len": HUGE})
    assert [e.split(": ")[0] for e in errors_of(tmp_path, old)] == [
        "data_configs[0].pre_process_data_config.source_max_len"]
    # Joined blocks without padding hold the text's tokens once, whatever max_seq_len says.
    joined = workflow(fake_hf_model, {"data_name": "json", "data_files": str(tones)},
                      {"text_template": "{phrase}", "strategy": "join", "pad_to_max_len": False,
                       "max_seq_len": HUGE})
    validate(write_workflow(tmp_path, joined))


def test_a_sane_config_passes(tmp_path, fake_hf_model, tones):
    config = workflow(fake_hf_model, {"data_name": "json", "data_files": str(tones)},
                      {"text_template": "{phrase} {tone}", "max_seq_len": 4096})
    validate(write_workflow(tmp_path, config))


def test_loading_checks_memory_before_tokenizing(tones):
    """A hub dataset's rows are known only once fetched: the same bound holds when they are loaded."""
    data = DataConfig(name="d", load_dataset_config={"data_files": str(tones)},
                      pre_process_data_config={"text_template": "{phrase}", "max_seq_len": HUGE})
    with pytest.raises(ConfigError) as caught:
        training_examples(data, tokenizer=None)  # refused before the tokenizer is called
    assert caught.value.path == "data config 'd': pre_process_data_config.max_seq_len"
    assert "10 rows" in caught.value.message


LATIN1 = "phrase,tone\nhappy,joy\ncaf\xe9 au lait,joy\n".encode("latin-1")


@pytest.mark.parametrize("suffix,line", [(".csv", "line 3"), (".jsonl", "line 2"), (".txt", "line 2")])
def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path, fake_hf_model, suffix, line):
    data_file = tmp_path / f"tones{suffix}"
    if suffix == ".jsonl":
        data_file.write_bytes(b'{"phrase": "ok", "tone": "joy"}\n{"phrase": "caf\xe9", "tone": "joy"}\n')
    elif suffix == ".txt":
        data_file.write_bytes(b"fine\ncaf\xe9\n")
    else:
        data_file.write_bytes(LATIN1)
    pre = {"text_cols": ["text"]} if suffix == ".txt" else {"text_template": "{phrase}"}
    config = workflow(fake_hf_model, {"data_files": {"train": [str(data_file)]}}, pre)
    result = olivine_cli("config", "validate", str(write_workflow(tmp_path, config)))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: data_configs[0].load_dataset_config.data_files.train[0]: data file is not UTF-8 "
                      f"text: {data_file} ({line}, byte 0xe9) (save it as UTF-8, e.g. iconv -f latin1 -t utf-8 "
                      "in.csv > out.csv)"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_loading_names_a_file_that_is_not_utf8_beyond_what_validation_read(tmp_path, suffix):
    """Validation reads the first 64 MB of a file; loading names the file whatever the size."""
    data_file = tmp_path / f"tones{suffix}"
    data_file.write_bytes(LATIN1 if suffix == ".csv" else b'{"phrase": "caf\xe9", "tone": "joy"}\n')
    data = DataConfig(name="d", load_dataset_config={"data_files": str(data_file)},
                      pre_process_data_config={"text_template": "{phrase}"})
    with pytest.raises(ConfigError) as caught:
        training_examples(data, tokenizer=None) if suffix == ".jsonl" else load_rows(data)
    assert caught.value.path == "data config 'd'"
    assert str(data_file) in caught.value.message and "byte 0xe9" in caught.value.message
