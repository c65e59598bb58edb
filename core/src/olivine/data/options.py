"""The keys of a data config's ``load_dataset_config`` and ``pre_process_data_config``, both Olive spellings.

Light on purpose: plan validation parses these before any heavy import.
"""

from __future__ import annotations

import string
from pathlib import PurePath
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from olivine.component import StrictConfig

LOCAL_BUILDERS = ("json", "csv", "parquet", "text")
EXTENSION_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet",
                      ".txt": "text", ".text": "text"}
# Olive's pre-processing component names that mean "text generation" (the only kind olivine reads).
TEXT_GEN_TYPES = ("text_generation_huggingface_pre_process", "huggingface_pre_process")
# Olive's older names of two pre-processing keys -> the current ones.
SPELLINGS = {"corpus_strategy": "strategy", "source_max_len": "max_seq_len"}
STRATEGIES = ("join", "join-sliding-window", "join-random", "line-by-line", "line-by-line-random")


class LoadOptions(StrictConfig):
    """``load_dataset_config``: local files through a ``datasets`` builder, or a hub dataset id; which split.

    A hub dataset (``data_name: "timdettmers/openassistant-guanaco"``) may name its configuration with
    ``subset`` (Olive) or ``name`` (datasets) and pin a ``revision``; ``split`` takes slices (``train[:4096]``).
    """

    type: str | None = None
    data_name: str | None = None
    subset: str | None = Field(None, validation_alias=AliasChoices("subset", "name"))
    revision: str | None = None
    split: str = "train"
    data_files: str | list[Any] | dict[str, Any] | None = None
    data_dir: str | None = None
    col_filters: dict[str, Any] = Field(default_factory=dict)
    trust_remote_code: bool | None = None
    streaming: bool = False

    def is_hub(self, workflow_dir: Any = None) -> bool:
        """``data_name`` names a dataset on the hub: not a local builder, not a local folder."""
        from pathlib import Path

        name = self.data_name
        if not name or name in LOCAL_BUILDERS or name.startswith((".", "/", "~")) or "\\" in name:
            return False
        if workflow_dir is not None and (Path(workflow_dir) / name).exists() or Path(name).exists():
            return False
        return all(part and all(c.isalnum() or c in "-_." for c in part) for part in name.split("/")) and \
            name.count("/") <= 1

    def builder(self) -> str | None:
        """The ``datasets`` builder: ``data_name`` when given, else guessed from the first file's extension."""
        if self.data_name:
            return self.data_name
        first = first_file(self.data_files)
        return EXTENSION_BUILDERS.get(PurePath(first).suffix.lower()) if first else None


class PreProcessOptions(StrictConfig):
    """``pre_process_data_config`` for text generation: Olive's corpus form or the completion-only form.

    Olive renamed ``corpus_strategy`` to ``strategy`` and ``source_max_len`` to ``max_seq_len``;
    both spellings are accepted here.
    """

    type: str | None = None
    dataset_type: Literal["corpus"] | None = None
    text_cols: list[str] | None = None
    text_template: str | None = None
    strategy: str = Field("line-by-line", validation_alias=AliasChoices("strategy", "corpus_strategy"))
    max_seq_len: int = Field(1024, gt=0, validation_alias=AliasChoices("max_seq_len", "source_max_len"))
    pad_to_max_len: bool = True
    use_attention_mask: bool = True
    add_special_tokens: bool = True
    drop_short_sequences: bool = False
    max_samples: int | None = Field(None, gt=0)
    joiner: str | None = None
    stride: int | None = Field(None, gt=0)
    random_seed: int | None = None
    random_retries: int = 10
    processing_batch_size: int = 1024
    prompt_template: str | None = None
    completion_template: str | None = None
    prompt_col: str | None = None
    completion_col: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in SPELLINGS.items():
                if old in data and new in data:
                    raise ValueError(f"{old} and {new} are the same setting (old and current spelling); keep one")
            if isinstance(data.get("text_cols"), str):
                data = {**data, "text_cols": [data["text_cols"]]}
        return data

    @property
    def completion_only(self) -> bool:
        return self.completion_template is not None or self.completion_col is not None

    def prompt_text(self) -> str | None:
        """The prompt template, with ``prompt_col`` written as the template ``{col}``."""
        return self.prompt_template if self.prompt_template is not None else _col_template(self.prompt_col)

    def completion_text(self) -> str | None:
        return self.completion_template if self.completion_template is not None else _col_template(
            self.completion_col)


def seq_key_of(raw: dict[str, Any]) -> str:
    """The spelling of max_seq_len the user wrote (Olive's older source_max_len is accepted too)."""
    return "source_max_len" if "source_max_len" in raw else "max_seq_len"


def _col_template(col: str | None) -> str | None:
    return "{" + col + "}" if col is not None else None


def placeholders(template: str) -> list[str]:
    """Column names a ``{column}`` template refers to, in order of appearance."""
    names = []
    for _literal, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None:
            names.append(field)
    return names


def render(template: str, row: dict[str, Any]) -> str:
    return template.format_map(row)


def first_file(data_files: Any) -> str | None:
    if isinstance(data_files, str):
        return data_files
    if isinstance(data_files, list):
        return next((f for f in (first_file(v) for v in data_files) if f), None)
    if isinstance(data_files, dict) and "type" not in data_files:
        return next((f for f in (first_file(v) for v in data_files.values()) if f), None)
    return None
