"""The human summary printed at the end of a run, within 100 columns: one row per stage with units in the
headers and one number format per metric, the goals and the change against the baseline stated once below,
then the search candidates when there was a search."""

from __future__ import annotations

import textwrap
from typing import Any

from olivine.stage import Stage

WIDTH = 100
# Units of the built-in metrics' sub types (latency's timings are milliseconds; rates are per second).
UNITS = {("latency", "tokens_per_second"): "tok/s", ("throughput", "tokens_per_second"): "tok/s",
         "latency": "ms", "throughput": "/s"}
BYTES = ("size-bytes", "size_on_disk-bytes")


def summary_table(run: dict[str, Any]) -> str:
    stages = [Stage.from_json(stage) for stage in run.get("stages", [])]
    columns = [c for c in _metric_columns([s.metrics for s in stages]) if c not in BYTES]
    formats = {c: _column_format([_flat_metrics(s.metrics).get(c) for s in stages]) for c in columns}
    with_goals = any(stage.goals for stage in stages)
    head = ["stage", "pass", "model", "time", "cache"]
    tail = [*(["goals"] if with_goals else []), "size"]
    rows = []
    for stage in stages:
        values = _flat_metrics(stage.metrics)
        rows.append({
            "stage": stage.name, "pass": stage.type or "-", "model": stage.format,
            "time": _seconds(stage.seconds) if stage.seconds is not None else "-",
            "cache": _cache_cell(stage), "goals": _goals_cell(stage.goals),
            "size": _human_size(next((values[b] for b in BYTES if b in values), stage.size_bytes)),
            **{c: formats[c](values.get(c)) for c in columns},
        })
    labels = {c: _label(c, columns) for c in columns} | dict.fromkeys(BYTES, "size")
    formats |= dict.fromkeys(BYTES, _signed_size)
    lines = []
    for part in _split(columns, head + tail, rows, labels):
        keys = head + part + tail
        lines += [*_table([[labels.get(k, k) for k in keys], *([row[k] for k in keys] for row in rows)]), ""]
    lines += _goal_lines(stages, labels) + _change_lines(stages, formats, labels) + _resume_lines(stages)
    lines += _search_lines(run.get("search"))
    lines.append(f"wall time {_seconds(run.get('wall_seconds', 0))}, {run.get('cache_hits', 0)} cached pass(es)")
    if run.get("output_model"):
        lines.append(f"model: {run['output_model']['path']}")
    return "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))


def _split(columns: list[str], fixed: list[str], rows: list[dict], labels: dict[str, str]) -> list[list[str]]:
    """Metric columns in groups, each group's table within WIDTH (a wide run gets several tables)."""
    def width(key: str) -> int:
        return max(len(labels.get(key, key)), *(len(row[key]) for row in rows)) if rows else len(key)

    used = sum(width(k) + 2 for k in fixed)
    parts: list[list[str]] = [[]]
    room = WIDTH - used
    for column in columns:
        need = width(column) + 2
        if parts[-1] and need > room:
            parts.append([])
            room = WIDTH - used
        parts[-1].append(column)
        room -= need
    return parts


def _table(rows: list[list[Any]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _label(column: str, columns: list[str]) -> str:
    """``accuracy-accuracy_score`` is ``accuracy`` when it is the metric's only column; units after the name."""
    metric, _, sub = column.partition("-")
    siblings = [c for c in columns if c.partition("-")[0] == metric]
    unit = UNITS.get((metric, sub)) or UNITS.get(metric, "")
    if sub == "tokens_per_second":
        return f"{metric} {unit}"
    name = metric if len(siblings) == 1 or sub in ("", metric) else f"{metric} {sub}"
    return f"{name} {unit}".strip()


def _column_format(values: list[Any]):
    """One format for every value of a column (deltas included), chosen from its largest value."""
    numbers = [abs(v) for v in values if isinstance(v, (int, float))]
    top = max(numbers, default=0)
    if top >= 1e5:
        return lambda v, sign="": "-" if v is None else _si(v, sign)
    decimals = 0 if top >= 100 or all(float(v).is_integer() for v in numbers) else 2 if top >= 1 else 3
    return lambda v, sign="": "-" if v is None else f"{v:{sign},.{decimals}f}"


def _si(value: float, sign: str = "") -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:{sign}.1f}{unit}"
    return f"{value:{sign}.0f}"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 600 else f"{seconds / 60:.0f}m"


def _cache_cell(stage: Stage) -> str:
    if stage.cache_hit is None:
        return "-"
    if stage.cache_hit:
        return "hit"
    return "resumed" if (stage.report or {}).get("resumed_from_step") else "run"


def _goals_cell(goals: list[dict[str, Any]] | None) -> str:
    if not goals:
        return "-"
    missed = sum(g["holds"] is False for g in goals)
    if missed:
        return "missed" if missed == len(goals) else f"missed {missed}"
    return "?" if any(g["holds"] is None for g in goals) else "met"


def _goal_lines(stages: list[Stage], labels: dict[str, str]) -> list[str]:
    """Each goal once: what it asks, and which stages meet it."""
    goals: dict[str, dict[str, Any]] = {}
    for stage in stages:
        for goal in stage.goals or []:
            entry = goals.setdefault(goal["metric"], {**goal, "met": []})
            if goal["holds"]:
                entry["met"].append(stage.name)
    lines = []
    for column, goal in goals.items():
        sense = ">=" if goal["higher_is_better"] else "<="
        kind = "" if goal["type"] == "threshold" else f" ({goal['type'].replace('-', ' ')} vs baseline)"
        met = ", ".join(goal["met"]) if goal["met"] else "no stage"
        lines.append(f"goal: {labels.get(column, column)} {sense} {goal['value']:g}{kind}: met by {met}")
    return lines


def _change_lines(stages: list[Stage], formats: dict, labels: dict[str, str]) -> list[str]:
    """The last evaluated stage against its baseline, once."""
    last = next((s for s in reversed(stages) if s.deltas), None)
    if last is None or not last.deltas:
        return []
    changes = [f"{labels[c]} {formats[c](d['delta'], '+')}" for c, d in last.deltas.items() if c in formats]
    if not changes:
        return []
    return textwrap.wrap(f"{last.name} vs {last.baseline}: " + ", ".join(changes), WIDTH,
                         subsequent_indent="  ", break_on_hyphens=False)


def _resume_lines(stages: list[Stage]) -> list[str]:
    return [f"{s.name}: resumed from its checkpoint at step {(s.report or {})['resumed_from_step']}"
            for s in stages if _cache_cell(s) == "resumed"]


def _search_lines(search: dict[str, Any] | None) -> list[str]:
    if not search:
        return []
    candidates = search["candidates"]
    params = list(search["space"])
    columns = _metric_columns([x.get("metrics", {}) for x in candidates])
    formats = {c: _column_format([_flat_metrics(x.get("metrics", {})).get(c) for x in candidates]) for c in columns}
    rows = [["#", *params, *(_label(c, columns) for c in columns), "goals", "chosen"]]
    for candidate in candidates:
        values = _flat_metrics(candidate.get("metrics", {}))
        rows.append([str(candidate["index"]), *[_fmt(candidate["params"].get(p)) for p in params],
                     *(formats[c](values.get(c)) for c in columns), _goals_cell(candidate.get("goals")),
                     "*" if candidate["chosen"] else ""])
    verdicts = {True: "meets every goal", None: "no goals set",
                False: "no candidate meets every goal; the output is the best-ranked one"}
    verdict = verdicts[search.get("chosen_meets_goals")]
    title = (f"search ({search['execution_order']}, {search['sampler']}): {len(candidates)} candidates, "
             f"chosen #{search['chosen']}, {verdict}")
    return [title, *_table(rows), ""]


def _metric_columns(metrics: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for values in metrics:
        for name in _flat_metrics(values):
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


def _signed_size(value: float | None, sign: str = "") -> str:
    if value is None:
        return "-"
    return ("-" if value < 0 else sign) + _human_size(abs(value))


def _human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
