"""How much memory a data config's token lists take, estimated before tokenizing, against what the machine has.

Tokenized examples are plain Python int lists (input_ids, labels, attention_mask), padded to
``max_seq_len``. Measured: about 25 bytes per padded position for the three lists, and about 40 more
per real token for the int objects the tokenizer makes; 64 bytes a position bounds both. A data config
whose estimate is above half of the available memory is refused, so a typo such as
``max_seq_len: 1000000000`` is one line, not a machine the kernel's OOM killer has to rescue.
"""

from __future__ import annotations

import os
from pathlib import Path

from olivine.data.options import PreProcessOptions

BYTES_PER_POSITION = 64
SHARE_OF_AVAILABLE = 0.5


def estimate_bytes(pre: PreProcessOptions, rows: int, text_bytes: int | None) -> int:
    """Upper estimate of the examples' memory: token positions x bytes a position.

    ``text_bytes`` bounds the tokens (a token covers at least one byte of text; two special tokens a row
    and the templates' own text are added). line-by-line and the completion form: one example a row,
    ``max_seq_len`` long when padded, else at most its text. join: the joined tokens once (once per
    stride in a sliding window) plus one padded block. join-random: ``max_samples`` blocks.
    """
    size = pre.max_seq_len
    if pre.strategy == "join-random" and not pre.completion_only:
        return (pre.max_samples or 0) * size * BYTES_PER_POSITION
    padded = rows * size
    if text_bytes is None:
        return padded * BYTES_PER_POSITION
    templates = sum(len((t or "").encode()) for t in (pre.text_template, pre.prompt_template, pre.completion_template))
    tokens = text_bytes + rows * (2 + templates)
    if pre.strategy.startswith("join") and not pre.completion_only:
        step = (pre.stride or size) if pre.strategy == "join-sliding-window" else size
        positions = tokens * -(-size // step) + (size if pre.pad_to_max_len else 0)
    else:
        positions = padded if pre.pad_to_max_len else min(padded, tokens)
    return positions * BYTES_PER_POSITION


def available_bytes() -> int | None:
    """Memory the kernel can give without swapping (Linux MemAvailable), else physical memory, else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def too_big(estimate: int) -> tuple[int, int] | None:
    """(estimate, limit) when the estimate is above the limit; None when it fits or memory is unknown."""
    available = available_bytes()
    if available is None:
        return None
    limit = int(available * SHARE_OF_AVAILABLE)
    return (estimate, limit) if estimate > limit else None


def describe(pre: PreProcessOptions, rows: int, estimate: int, limit: int) -> str:
    return (f"max_seq_len {pre.max_seq_len} over {rows} rows ({pre.strategy}) needs about {gib(estimate)} of token "
            f"lists, above half of this machine's available memory ({gib(limit)})")


HINT = "lower max_seq_len, select fewer rows (split: train[:N]) or set pad_to_max_len to false"


def gib(size: int) -> str:
    return f"{size / 2**30:,.1f} GiB"
