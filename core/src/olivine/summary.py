"""The human summary printed at the end of a run: one row per stage."""

from __future__ import annotations

from typing import Any


def summary_table(run: dict[str, Any]) -> str:
    stages = run.get("stages", [])
    metric_names = _metric_columns(stages)
    header = ["stage", "pass", "format", "time", "cache", *metric_names, "size"]
    rows = [header]
    for stage in stages:
        metrics = _flat_metrics(stage.get("metrics", {}))
        rows.append([
            stage["name"], stage.get("type", "-"), stage["format"],
            f"{stage['seconds']:.2f}s" if "seconds" in stage else "-",
            ("hit" if stage.get("cache_hit") else "run") if "cache_hit" in stage else "-",
            *[_fmt(metrics.get(name)) for name in metric_names],
            _human_size(stage.get("size_bytes", 0)),
        ])
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    footer = f"wall time {run.get('wall_seconds', 0):.2f}s, {run.get('cache_hits', 0)} cached pass(es)"
    if run.get("output_model"):
        footer += f"; model: {run['output_model']['path']}"
    return "\n".join([*lines, footer])


def _metric_columns(stages: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for stage in stages:
        for name in _flat_metrics(stage.get("metrics", {})):
            if name not in names:
                names.append(name)
    return names


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for metric, values in metrics.items():
        if isinstance(values, dict):
            for sub, value in values.items():
                if not sub.startswith("_") and isinstance(value, (int, float)):
                    flat[f"{metric}-{sub}"] = value
        elif isinstance(values, (int, float)):
            flat[metric] = values
    return flat


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return str(size)
