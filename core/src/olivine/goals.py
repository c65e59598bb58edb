"""Metric goals (Olive's ``sub_types[*].goal``), deltas against a baseline stage, and ranking by priority.

A goal becomes a target value from the baseline: ``max-degradation 0.01`` on accuracy with a baseline of
0.90 needs >= 0.89. The baseline of a stage is the input model's evaluation when there is one, else
the nearest earlier stage that was evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from olivine.errors import ConfigError
from olivine.stage import Stage
from olivine.suggest import did_you_mean

GOAL_TYPES = ("threshold", "min-improvement", "max-degradation", "percent-min-improvement",
              "percent-max-degradation")
INPUT_STAGE = "input_model"


@dataclass(frozen=True)
class SubMetric:
    """One ``metric-sub_type`` column with its direction, priority and goal."""

    metric: str
    sub: str
    higher_is_better: bool
    priority: int
    goal: Any  # GoalConfig | None

    @property
    def column(self) -> str:
        return f"{self.metric}-{self.sub}"


def sub_metrics(planned_metrics) -> list[SubMetric]:
    """Every sub metric of the planned metrics; ``higher_is_better`` defaults from the metric type."""
    found: dict[str, SubMetric] = {}
    for planned in planned_metrics:
        defaults = planned.evaluator.higher_is_better
        for sub in planned.config.sub_types:
            hib = sub.higher_is_better if sub.higher_is_better is not None else defaults.get(sub.name, True)
            item = SubMetric(planned.config.name, sub.name, hib, sub.priority, sub.goal)
            found.setdefault(item.column, item)
    return list(found.values())


def goal_errors(metric, path: str) -> list[ConfigError]:
    """Config errors in a metric's goals, for plan validation."""
    errors = []
    for j, sub in enumerate(metric.sub_types):
        goal = sub.goal
        if goal is None:
            continue
        where = f"{path}.sub_types[{j}].goal"
        if goal.type not in GOAL_TYPES:
            errors.append(ConfigError(f"{where}.type", f"unknown goal type {goal.type!r}",
                                      did_you_mean(goal.type, GOAL_TYPES) or f"known: {', '.join(GOAL_TYPES)}"))
        elif goal.type != "threshold" and goal.value < 0:
            errors.append(ConfigError(f"{where}.value", f"a {goal.type} goal is a non-negative amount"))
    return errors


def target(goal, higher_is_better: bool, baseline: float | None) -> float | None:
    """The value a sub metric must reach (>= when higher is better, else <=); None without a baseline."""
    if goal.type == "threshold":
        return goal.value
    if baseline is None:
        return None
    amount = goal.value if not goal.type.startswith("percent-") else abs(baseline) * goal.value / 100
    gain = amount if goal.type.endswith("min-improvement") else -amount
    return baseline + gain if higher_is_better else baseline - gain


def holds(value: float, goal_target: float, higher_is_better: bool) -> bool:
    return value >= goal_target if higher_is_better else value <= goal_target


def flat_values(metrics: dict[str, Any]) -> dict[str, float]:
    """``{"acc": {"accuracy_score": 0.9}}`` -> ``{"acc-accuracy_score": 0.9}`` (numbers only)."""
    flat = {}
    for metric, values in (metrics or {}).items():
        if isinstance(values, dict):
            for sub, value in values.items():
                if not sub.startswith("_") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    flat[f"{metric}-{sub}"] = float(value)
    return flat


def annotate(stage: Stage, baseline: Stage | None, subs: list[SubMetric],
             relative: bool = True) -> None:
    """Add ``baseline``, ``deltas``, ``goals`` and ``goals_met`` to an evaluated stage of run.json.

    ``relative=False`` is for the baseline itself: only threshold goals apply to it.
    """
    values = flat_values(stage.metrics)
    if not values:
        return
    base_values = flat_values(baseline.metrics) if baseline else {}
    stage.baseline = baseline.name if baseline else None
    stage.deltas = {column: _delta(value, base_values[column]) for column, value in values.items()
                       if column in base_values}
    checks = []
    for sub in subs:
        if sub.goal is None or sub.column not in values or (not relative and sub.goal.type != "threshold"):
            continue
        goal_target = target(sub.goal, sub.higher_is_better, base_values.get(sub.column))
        checks.append({"metric": sub.column, "type": sub.goal.type, "value": sub.goal.value,
                       "higher_is_better": sub.higher_is_better, "target": goal_target,
                       "actual": values[sub.column],
                       "holds": None if goal_target is None else holds(values[sub.column], goal_target,
                                                                        sub.higher_is_better)})
    stage.goals = checks
    stage.goals_met = all(c["holds"] for c in checks) if checks else None


def _delta(value: float, base: float) -> dict[str, float | None]:
    return {"delta": value - base, "percent": (value - base) / abs(base) * 100 if base else None}


def annotate_stages(stages: list[Stage], subs: list[SubMetric]) -> None:
    """Deltas and goals for each evaluated stage against its baseline (input model, else previous)."""
    evaluated = [s for s in stages if flat_values(s.metrics)]
    input_stage = next((s for s in evaluated if s.name == INPUT_STAGE), None)
    previous = None
    for stage in evaluated:
        if stage is input_stage:
            annotate(stage, None, subs, relative=False)
        else:
            annotate(stage, input_stage or previous, subs, relative=input_stage is not None or previous is not None)
        previous = stage


def ranking(subs: list[SubMetric]) -> list[SubMetric]:
    """Sub metrics that rank candidates, most important first (``priority`` 1, 2, ...; all when none set)."""
    ranked = sorted((s for s in subs if s.priority > 0), key=lambda s: s.priority)
    return ranked or list(subs)


def rank_key(values: dict[str, float], subs: list[SubMetric]) -> tuple[float, ...]:
    """Larger is better: each ranked value signed by its direction, a missing value ranks last."""
    key = []
    for sub in ranking(subs):
        value = values.get(sub.column)
        key.append(-math.inf if value is None else (value if sub.higher_is_better else -value))
    return tuple(key)
