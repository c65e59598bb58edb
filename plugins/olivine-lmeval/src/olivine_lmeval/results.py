"""lm-eval's result table as olivine sub types: ``task/metric``, or ``task/metric/filter`` for a filter other
than lm-eval's default ``none`` (``gsm8k/exact_match/strict-match``). Standard errors are left out."""

from __future__ import annotations

from typing import Any

DEFAULT_FILTER = "none"


def sub_type_values(table: dict[str, Any]) -> dict[str, float]:
    """Every numeric metric of every task and group that lm-eval reported."""
    values: dict[str, float] = {}
    for task, metrics in (table.get("results") or {}).items():
        for key, value in metrics.items():
            # Metrics are keyed ``metric,filter``; other keys (alias, sample_len) describe the task.
            metric, comma, flt = key.partition(",")
            if not comma or metric.endswith("_stderr") or not isinstance(value, (int, float)) \
                    or isinstance(value, bool):
                continue
            name = f"{task}/{metric}" if flt == DEFAULT_FILTER else f"{task}/{metric}/{flt}"
            values[name] = float(value)
    return values


def top_level(table: dict[str, Any], values: dict[str, float]) -> list[str]:
    """Sub types of the tasks asked for: a group's own scores, not those of each of its subtasks (mmlu's 57
    subjects stay out of the summary; a metric's ``sub_types`` may still name any of them)."""
    children = {child for subtasks in (table.get("group_subtasks") or {}).values() for child in subtasks}
    return [name for name in values if name.split("/", 1)[0] not in children]
