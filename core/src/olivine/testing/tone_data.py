"""Where the tone data lives, and the prompt format every package uses for the tone task."""

from __future__ import annotations

import json
import os
from pathlib import Path

TONES = ("sadness", "joy", "fear", "surprise")
PROMPT_TEMPLATE = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"
COMPLETION_TEMPLATE = "{tone}<|end|>"

_ENV = "OLIVINE_TONE_DATA"
# Shipped inside the package, so an installed olivine (not only a checkout) has it; the flagship example's
# data folder holds the same two files (a test keeps them identical).
_PACKAGED = Path(__file__).resolve().with_name("tone")


def tone_data_dir(folder: str | os.PathLike | None = None) -> Path:
    """The folder holding the tone data's `train.jsonl` and `test.jsonl`: ``folder`` when given, else
    $OLIVINE_TONE_DATA, else the copy shipped with olivine.testing."""
    override = str(folder) if folder is not None else os.environ.get(_ENV)
    folder = Path(override) if override else _PACKAGED
    if not (folder / "train.jsonl").is_file() or not (folder / "test.jsonl").is_file():
        where = override if override else f"{folder} (olivine.testing's own copy)"
        raise FileNotFoundError(
            f"tone data not found at {where}: expected train.jsonl and test.jsonl "
            f"(give a folder with both: --data, or {_ENV})"
        )
    return folder


def load_tone_rows(split: str, folder: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """The rows of one split (`train` or `test`), each `{"phrase": ..., "tone": ...}`."""
    path = tone_data_dir(folder) / f"{split}.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
