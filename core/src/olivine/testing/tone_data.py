"""Where the tone data lives, and the prompt format every package uses for the tone task."""

from __future__ import annotations

import json
import os
from pathlib import Path

TONES = ("sadness", "joy", "fear", "surprise")
PROMPT_TEMPLATE = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"
COMPLETION_TEMPLATE = "{tone}<|end|>"

_ENV = "OLIVINE_TONE_DATA"
# core/src/olivine/testing -> repository root, when core is installed editable from a checkout.
_REPO_DATA = Path(__file__).resolve().parents[4] / "examples" / "phi3-emotion" / "data"


def tone_data_dir(folder: str | os.PathLike | None = None) -> Path:
    """The folder holding the tone data's `train.jsonl` and `test.jsonl`: ``folder`` when given, else
    $OLIVINE_TONE_DATA, else the examples folder of the checkout olivine is installed from (editable)."""
    override = str(folder) if folder is not None else os.environ.get(_ENV)
    folder = Path(override) if override else _REPO_DATA
    if not (folder / "train.jsonl").is_file() or not (folder / "test.jsonl").is_file():
        where = override if override else f"{folder} (the checkout's examples folder)"
        raise FileNotFoundError(
            f"tone data not found at {where}: expected train.jsonl and test.jsonl; "
            f"give the examples/phi3-emotion/data folder of an olivine checkout (--data, or {_ENV})"
        )
    return folder


def load_tone_rows(split: str, folder: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """The rows of one split (`train` or `test`), each `{"phrase": ..., "tone": ...}`."""
    path = tone_data_dir(folder) / f"{split}.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
