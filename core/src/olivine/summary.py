"""The human summary printed at the end of a run: one row per stage (metric deltas against the baseline
stage in parentheses, goals met or missed), then the search candidates when there was a search."""

from __future__ import annotations

from typing import Any


def summary_table(run: dict[str, Any]) -> str:
    stages = run.get("stages", [])
    metric_names = _metric_columns(stages)
    with_goals = any(stage.get("goals") for stage in stages)
    header = ["stage", "pass", "format", "time", "cache", *metric_names, *(["goals"] if with_goals else []), "size"]
    rows = [header]
    for stage in stages:
        rows.append([
            stage["name"], stage.get("type", "-"), stage["format"],
            f"{stage['seconds']:.2f}s" if "seconds" in stage else "-",
            ("hit" if stage.get("cache_hit") else "run") if "cache_hit" in stage else "-",
            *_metric_cells(stage, metric_names), *([_goals_cell(stage)] if with_goals else []),
            _human_size(stage.get("size_bytes", 0)),
        ])
    footer = f"wall time {run.get('wall_seconds', 0):.2f}s, {run.get('cache_hits', 0)} cached pass(es)"
    if run.get("output_model"):
        footer += f"; model: {run['output_model']['path']}"
    return "\n".join([*_table(rows), *_search_lines(run.get("search")), footer])


def _table(rows: list[list[Any]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _metric_cells(stage: dict[str, Any], names: list[str]) -> list[str]:
    metrics = _flat_metrics(stage.get("metrics", {}))
    deltas = stage.get("deltas") or {}
    cells = []
    for name in names:
        cell = _fmt(metrics.get(name))
        if name in deltas:
            cell += f" ({_fmt_delta(deltas[name]['delta'])})"
        cells.append(cell)
    return cells


def _fmt_delta(delta: float) -> str:
    return f"{int(delta):+d}" if float(delta).is_integer() and abs(delta) < 1e12 else f"{delta:+.3g}"


def _goals_cell(stage: dict[str, Any]) -> str:
    goals = stage.get("goals") or []
    if not goals:
        return "-"
    missed = [g["metric"] for g in goals if g["holds"] is False]
    unknown = [g["metric"] for g in goals if g["holds"] is None]
    if missed:
        return "missed " + ",".join(missed)
    if unknown:
        return "no baseline for " + ",".join(unknown)
    return f"met ({len(goals)})"


def _search_lines(search: dict[str, Any] | None) -> list[str]:
    if not search:
        return []
    candidates = search["candidates"]
    params = list(search["space"])
    stages = [{**c, "name": str(c["index"])} for c in candidates]
    metric_names = _metric_columns(stages)
    rows = [["#", *params, *metric_names, "goals", "chosen"]]
    for candidate in stages:
        rows.append([candidate["name"], *[_fmt(candidate["params"].get(p)) for p in params],
                     *_metric_cells(candidate, metric_names), _goals_cell(candidate),
                     "*" if candidate["chosen"] else ""])
    verdicts = {True: "meets every goal", None: "no goals set",
                False: "no candidate meets every goal; the output is the best-ranked one"}
    verdict = verdicts[search.get("chosen_meets_goals")]
    title = (f"search ({search['execution_order']}, {search['sampler']}): {len(candidates)} candidates, "
             f"chosen #{search['chosen']}, {verdict}")
    return ["", title, *_table(rows), ""]


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
