"""Pre-processing of real local files: completion-only masks, corpus join and line-by-line, splits, pairs."""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from olivine.config.schema import DataConfig  # noqa: E402
from olivine.data import load_rows, prompt_label_pairs, training_examples  # noqa: E402
from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE  # noqa: E402

ROWS = [
    {"phrase": "The puppy licked my face and I laughed.", "tone": "joy"},
    {"phrase": "A stranger followed me home in the dark.", "tone": "fear"},
    {"phrase": "My best friend moved to another country.", "tone": "sadness"},
    {"phrase": "The old radio suddenly played my name.", "tone": "surprise"},
    {"phrase": "We won the championship after ten years.", "tone": "joy"},
    {"phrase": "The doctor called with my test results.", "tone": "fear"},
    {"phrase": "Grandpa's chair stays empty at dinner now.", "tone": "sadness"},
    {"phrase": "It snowed in the middle of July.", "tone": "surprise"},
]


@pytest.fixture(scope="module")
def tokenizer():
    from olivine.testing import tiny_phi3
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_phi3())


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "tones.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path


def data(files, pre: dict, **load) -> DataConfig:
    return DataConfig(name="d", load_dataset_config={"data_files": str(files) if not isinstance(files, (dict, list))
                                                     else files, **load},
                      pre_process_data_config=pre)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_completion_only_masks_every_prompt_token(jsonl, tokenizer):
    config = data(jsonl, {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                          "max_seq_len": 64, "pad_to_max_len": False})
    train, evaluation = training_examples(config, tokenizer)
    assert evaluation == [] and len(train) == len(ROWS)
    for row, example in zip(ROWS, train, strict=True):
        prompt = encode(tokenizer, PROMPT_TEMPLATE.format(**row))
        completion = encode(tokenizer, COMPLETION_TEMPLATE.format(**row))
        assert example["input_ids"] == prompt + completion
        assert example["labels"] == [-100] * len(prompt) + completion
        assert example["attention_mask"] == [1] * (len(prompt) + len(completion))
    assert tokenizer.decode(train[0]["input_ids"]) == PROMPT_TEMPLATE.format(**ROWS[0]) + "joy<|end|>"


def test_completion_only_padding_is_masked(jsonl, tokenizer):
    config = data(jsonl, {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                          "max_seq_len": 40})
    train, _ = training_examples(config, tokenizer)
    for example in train:
        assert len(example["input_ids"]) == len(example["labels"]) == len(example["attention_mask"]) == 40
        real = sum(example["attention_mask"])
        assert example["input_ids"][real:] == [tokenizer.pad_token_id] * (40 - real)
        assert example["labels"][real:] == [-100] * (40 - real)


def test_corpus_join_old_and_current_spellings_give_the_same_blocks(tmp_path, tokenizer):
    csv_file = tmp_path / "tones.csv"
    csv_file.write_text("phrase,tone\n" + "".join(f"\"{r['phrase']}\",{r['tone']}\n" for r in ROWS))
    template = "### Text: {phrase}\n### The tone is:\n{tone}"
    old = data(csv_file, {"dataset_type": "corpus", "text_cols": ["phrase", "tone"], "text_template": template,
                          "corpus_strategy": "join", "source_max_len": 16, "pad_to_max_len": False,
                          "use_attention_mask": False}, data_name="csv")
    current = data(csv_file, {"text_template": template, "strategy": "join", "max_seq_len": 16,
                              "pad_to_max_len": False, "use_attention_mask": False}, data_name="csv")
    old_train, _ = training_examples(old, tokenizer)
    assert training_examples(current, tokenizer)[0] == old_train
    eos = tokenizer.eos_token_id
    joined = []
    for row in ROWS:  # add_special_tokens (default) wraps each text in bos ... eos; bos == eos here
        joined += [tokenizer.bos_token_id, *encode(tokenizer, template.format(**row)), eos]
    blocks = [ex["input_ids"] for ex in old_train]
    assert [len(b) for b in blocks[:-1]] == [16] * (len(blocks) - 1) and 0 < len(blocks[-1]) <= 16
    assert sum(blocks, []) == joined
    assert all(ex["labels"] == ex["input_ids"] for ex in old_train)


def test_without_an_attention_mask_padding_is_attended_as_in_olive(tmp_path, tokenizer):
    text = tmp_path / "tones.txt"
    text.write_text("".join(f"{r['phrase']}\n" for r in ROWS))
    pre = {"text_cols": ["text"], "strategy": "join", "max_seq_len": 16, "pad_to_max_len": True}
    masked, _ = training_examples(data(text, pre, data_name="text"), tokenizer)
    unmasked, _ = training_examples(data(text, {**pre, "use_attention_mask": False}, data_name="text"), tokenizer)
    short = masked[-1]
    assert 0 in short["attention_mask"] and short["labels"][-1] == -100
    assert unmasked[-1]["attention_mask"] == [1] * 16
    assert [ex["input_ids"] for ex in unmasked] == [ex["input_ids"] for ex in masked]


def test_line_by_line_from_parquet_pads_to_max_len(tmp_path, tokenizer):
    from datasets import Dataset

    parquet = tmp_path / "tones.parquet"
    Dataset.from_list(ROWS).to_parquet(str(parquet))
    config = data(parquet, {"text_cols": ["phrase"], "strategy": "line-by-line", "max_seq_len": 24,
                            "add_special_tokens": False})
    train, _ = training_examples(config, tokenizer)
    assert len(train) == len(ROWS)
    first = encode(tokenizer, ROWS[0]["phrase"])
    assert train[0]["input_ids"][:len(first)] == first
    assert train[0]["labels"] == first + [-100] * (24 - len(first))
    assert train[0]["attention_mask"] == [1] * len(first) + [0] * (24 - len(first))


def test_eval_split_is_seeded_disjoint_and_complete(jsonl, tokenizer):
    config = data(jsonl, {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                          "max_seq_len": 64, "pad_to_max_len": False})

    def phrases(examples):
        return sorted(tokenizer.decode(ex["input_ids"]) for ex in examples)

    train, evaluation = training_examples(config, tokenizer, eval_dataset_size=0.25, seed=3)
    assert (len(train), len(evaluation)) == (6, 2)
    assert not set(phrases(train)) & set(phrases(evaluation))
    assert len(set(phrases(train + evaluation))) == len(ROWS)
    again = training_examples(config, tokenizer, eval_dataset_size=0.25, seed=3)
    assert phrases(again[1]) == phrases(evaluation)
    counted = training_examples(config, tokenizer, eval_dataset_size=3, seed=3)
    assert len(counted[1]) == 3
    others = {tuple(phrases(training_examples(config, tokenizer, 0.25, seed=s)[1])) for s in range(6)}
    assert len(others) > 1


def test_split_slice_and_split_names_select_rows(tmp_path, jsonl):
    assert len(load_rows(data(jsonl, {}, split="train[:50%]"))) == 4
    assert len(load_rows(data(jsonl, {}, split="train[-2:]"))) == 2
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text(json.dumps(ROWS[0]) + "\n")
    rows = load_rows(data({"train": str(jsonl), "test": str(held_out)}, {}, split="test", data_name="json"))
    assert rows.to_list() == [ROWS[0]]


def test_prompt_label_pairs_from_both_text_forms(jsonl):
    completion = data(jsonl, {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE})
    assert prompt_label_pairs(completion)[1] == (PROMPT_TEMPLATE.format(**ROWS[1]), "fear<|end|>")
    corpus = data(jsonl, {"dataset_type": "corpus", "text_template": "### Text: {phrase}\n### The tone is:\n{tone}"})
    assert prompt_label_pairs(corpus)[2] == (f"### Text: {ROWS[2]['phrase']}\n### The tone is:\n", "sadness")
    columns = data(jsonl, {"prompt_col": "phrase", "completion_col": "tone", "max_samples": 3})
    assert prompt_label_pairs(columns) == [(r["phrase"], r["tone"]) for r in ROWS[:3]]


def test_col_filters_and_max_samples(jsonl, tokenizer):
    config = data(jsonl, {"text_cols": ["phrase"], "max_samples": 1, "pad_to_max_len": False},
                  col_filters={"tone": "joy"})
    assert [r["tone"] for r in load_rows(config)] == ["joy", "joy"]
    train, _ = training_examples(config, tokenizer)
    assert len(train) == 1
