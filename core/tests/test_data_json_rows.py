"""Local JSON rows read without `datasets` are exactly the rows `datasets` gives."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from olivine.config.schema import DataConfig
from olivine.data.container import HuggingfaceContainer
from olivine.testing import tone_data_dir


def container(files, **load) -> HuggingfaceContainer:
    return HuggingfaceContainer(DataConfig(name="d", load_dataset_config={"data_name": "json", "data_files": files,
                                                                          **load}))


def through_datasets(c: HuggingfaceContainer) -> list[dict]:
    return c.rows().to_list()


@pytest.mark.parametrize("layout", ["jsonl", "array", "missing-keys", "two-files", "split-dict", "filtered"])
def test_stdlib_rows_equal_datasets_rows(tmp_path, layout):
    rows = [{"phrase": "so happy", "tone": "joy", "n": 1}, {"phrase": "oh no", "tone": "fear", "n": 2}]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.json"
    a.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    b.write_text(json.dumps([{"phrase": "wow", "tone": "surprise"}]))
    files, load = {"jsonl": (str(a), {}), "array": (str(b), {}), "missing-keys": ([str(a), str(b)], {}),
                   "two-files": ([str(a), str(a)], {}), "split-dict": ({"test": str(a)}, {"split": "test"}),
                   "filtered": (str(a), {"col_filters": {"tone": "fear"}})}[layout]
    c = container(files, **load)
    assert c.records() == through_datasets(c)


def test_the_tone_data_reads_the_same_both_ways():
    c = container(str(tone_data_dir() / "train.jsonl"))
    assert c.records() == through_datasets(c)


def test_a_column_mixing_types_goes_through_datasets(tmp_path):
    file = tmp_path / "mixed.jsonl"
    file.write_text('{"x": 1}\n{"x": 2.5}\n')
    c = container(str(file))
    assert c.records() == [{"x": 1.0}, {"x": 2.5}]


def test_training_examples_from_jsonl_do_not_import_datasets():
    code = (
        "import sys\n"
        "from transformers import AutoTokenizer\n"
        "from olivine.config.schema import DataConfig\n"
        "from olivine.data import training_examples\n"
        "from olivine.testing import tiny_phi3, tone_data_dir\n"
        "data = DataConfig(name='t', load_dataset_config={'data_name': 'json', "
        "'data_files': str(tone_data_dir() / 'train.jsonl')}, pre_process_data_config={"
        "'prompt_template': '<|user|>\\n{phrase}<|end|>\\n<|assistant|>\\n', 'completion_template': '{tone}<|end|>'})\n"
        "train, _ = training_examples(data, AutoTokenizer.from_pretrained(tiny_phi3()))\n"
        "print(len(train), 'datasets' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["384", "False"], result.stderr
