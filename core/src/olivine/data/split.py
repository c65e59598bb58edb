"""Split rows into train and eval, reproducibly from a seed."""

from __future__ import annotations

import random

from olivine.errors import ConfigError


def split_indices(rows: int, eval_size: float | int | None, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train, eval) row indices, each in file order. ``eval_size`` is a fraction (0 < f < 1) or a count."""
    count = eval_count(rows, eval_size)
    if count == 0:
        return list(range(rows)), []
    chosen = set(random.Random(seed).sample(range(rows), count))
    return [i for i in range(rows) if i not in chosen], sorted(chosen)


def eval_count(rows: int, eval_size: float | int | None) -> int:
    if eval_size is None or eval_size == 0:
        return 0
    if isinstance(eval_size, bool) or eval_size < 0:
        raise ConfigError("eval_dataset_size", f"must be a fraction between 0 and 1 or a row count (got {eval_size!r})")
    if isinstance(eval_size, float) and eval_size < 1:
        count = max(1, round(rows * eval_size))
    elif float(eval_size).is_integer():
        count = int(eval_size)
    else:
        raise ConfigError("eval_dataset_size", f"a count must be a whole number (got {eval_size!r})")
    if count >= rows:
        raise ConfigError("eval_dataset_size", f"{eval_size!r} leaves no training rows out of {rows}")
    return count
