"""Tokenized training examples for text generation: Olive's corpus form and the completion-only form.

Each example is ``{"input_ids": [...], "labels": [...], "attention_mask": [...]}`` with plain int lists;
labels are -100 where no loss is taken (padding, prompt tokens, sliding-window context).
"""

from __future__ import annotations

import random
from typing import Any

from olivine.data import memory
from olivine.data.container import container_for
from olivine.data.options import PreProcessOptions, render, seq_key_of
from olivine.data.split import split_indices
from olivine.errors import ConfigError

IGNORE = -100


def training_examples(data_config, tokenizer, eval_dataset_size: float | int | None = None,
                      seed: int = 0) -> tuple[list[dict[str, list[int]]], list[dict[str, list[int]]]]:
    """(train, eval) examples of a data config; eval rows are split off before tokenization, seeded."""
    container = container_for(data_config)
    rows = container.records()
    pre = container.pre
    _check_memory(rows, pre, container.name, seq_key_of(container.config.pre_process_data_config))
    train_idx, eval_idx = split_indices(len(rows), eval_dataset_size, seed)
    train = _examples([rows[i] for i in train_idx], pre, tokenizer, container.name)
    evaluation = _examples([rows[i] for i in eval_idx], pre, tokenizer, container.name) if eval_idx else []
    if pre.max_samples is not None:
        train = train[:pre.max_samples]
    if not train:
        raise ConfigError(f"data config {container.name!r}", "pre-processing produced no training examples",
                          "lower max_seq_len or set drop_short_sequences to false")
    return train, evaluation


def _check_memory(rows: list[dict[str, Any]], pre: PreProcessOptions, name: str, key: str) -> None:
    """Before tokenizing, on the machine that tokenizes: the token lists' estimate against its memory."""
    text_bytes = sum(len(str(value).encode()) for row in rows for value in row.values() if value is not None)
    over = memory.too_big(memory.estimate_bytes(pre, len(rows), text_bytes))
    if over is not None:
        raise ConfigError(f"data config {name!r}: pre_process_data_config.{key}",
                          memory.describe(pre, len(rows), *over), memory.HINT)


def _examples(rows: list[dict[str, Any]], pre: PreProcessOptions, tokenizer, name: str) -> list[dict]:
    if pre.completion_only:
        return _completion_examples(rows, pre, tokenizer)
    texts = corpus_texts(rows, pre, name)
    ids = _encode(tokenizer, texts)
    if pre.add_special_tokens:
        ids = [_with_special(seq, tokenizer) for seq in ids]
    if pre.strategy.startswith("join"):
        return _join(ids, pre, tokenizer)
    if pre.strategy == "line-by-line-random":
        random.Random(pre.random_seed or 0).shuffle(ids)
    return [ex for seq in ids if (ex := _sequence(seq, list(seq), pre, tokenizer)) is not None]


def corpus_texts(rows: list[dict[str, Any]], pre: PreProcessOptions, name: str) -> list[str]:
    if pre.text_template is not None:
        return [render(pre.text_template, row) for row in rows]
    if pre.text_cols:
        return [" ".join(str(row[col]) for col in pre.text_cols) for row in rows]
    raise ConfigError(f"data config {name!r}", "pre_process_data_config has no text form",
                      "give text_template or text_cols (corpus), or prompt_template + completion_template")


def _completion_examples(rows, pre: PreProcessOptions, tokenizer) -> list[dict]:
    prompt_t, completion_t = pre.prompt_text(), pre.completion_text()
    assert prompt_t is not None and completion_t is not None  # completion_only is validated to have both
    prompts = _encode(tokenizer, [render(prompt_t, row) for row in rows], pre.add_special_tokens)
    completions = _encode(tokenizer, [render(completion_t, row) for row in rows])
    examples = []
    for prompt, completion in zip(prompts, completions, strict=True):
        labels = [IGNORE] * len(prompt) + list(completion)
        example = _sequence(prompt + completion, labels, pre, tokenizer)
        if example is not None and any(label != IGNORE for label in example["labels"]):
            examples.append(example)
    return examples


def _join(ids: list[list[int]], pre: PreProcessOptions, tokenizer) -> list[dict]:
    joiner = _encode(tokenizer, [pre.joiner])[0] if pre.joiner else []
    joined: list[int] = []
    for seq in ids:
        joined += seq + joiner
    size = pre.max_seq_len
    if pre.strategy == "join-random":
        return _join_random(joined, pre, tokenizer)
    step = (pre.stride or size) if pre.strategy == "join-sliding-window" else size
    examples = []
    for begin in range(0, max(len(joined) - (size - step), 1), step):
        block = joined[begin:begin + size]
        labels = list(block)
        if begin and step < size:  # the overlap is context already trained on in the previous block
            labels[:size - step] = [IGNORE] * (size - step)
        example = _sequence(block, labels, pre, tokenizer)
        if example is not None:
            examples.append(example)
    return examples


def _join_random(joined: list[int], pre: PreProcessOptions, tokenizer) -> list[dict]:
    rng = random.Random(pre.random_seed or 0)
    size = pre.max_seq_len
    examples = []
    for _ in range(pre.max_samples or 0):
        begin = rng.randint(0, max(len(joined) - size, 0))
        block = joined[begin:begin + size]
        example = _sequence(block, list(block), pre, tokenizer)
        if example is not None:
            examples.append(example)
    return examples


def _sequence(ids: list[int], labels: list[int], pre: PreProcessOptions, tokenizer) -> dict | None:
    """Truncate to max_seq_len, then drop or pad short sequences as configured."""
    size = pre.max_seq_len
    ids, labels = list(ids[:size]), list(labels[:size])
    if not ids or (pre.drop_short_sequences and len(ids) < size):
        return None
    mask = [1] * len(ids)
    if pre.pad_to_max_len and len(ids) < size:
        pad = size - len(ids)
        ids += [pad_id(tokenizer)] * pad
        labels += [IGNORE] * pad
        mask += [0 if pre.use_attention_mask else 1] * pad  # false: attend to padding too, as Olive does
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _encode(tokenizer, texts: list[str], add_special_tokens: bool = False) -> list[list[int]]:
    if not texts:
        return []
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]]


def _with_special(ids: list[int], tokenizer) -> list[int]:
    bos, eos = getattr(tokenizer, "bos_token_id", None), getattr(tokenizer, "eos_token_id", None)
    head = [bos] if bos is not None and ids[:1] != [bos] else []
    tail = [eos] if eos is not None and ids[-1:] != [eos] else []
    return head + ids + tail


def pad_id(tokenizer) -> int:
    for name in ("pad_token_id", "eos_token_id", "unk_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return value
    return 0
