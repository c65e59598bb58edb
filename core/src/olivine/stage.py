"""Stage: one row of a run (the input model, or a pass's output) as engine, goals, search and summary share it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stage:
    """A model the run produced or started from, its metrics, and how they compare with its baseline.

    The engine fills the first group, goals the comparison (``annotate``), search the candidate index;
    ``run.json`` stores it as ``to_json()`` and the summary reads it back with ``from_json``.
    """

    name: str
    format: str
    path: str
    metrics: dict[str, Any] = field(default_factory=dict)
    size_bytes: int = 0
    # Set for a pass's output; None for the input model.
    type: str | None = None
    cache_key: str | None = None
    cache_hit: bool | None = None
    seconds: float | None = None
    report: dict[str, Any] | None = None
    # Set by goals.annotate on an evaluated stage.
    baseline: str | None = None
    deltas: dict[str, Any] | None = None
    goals: list[dict[str, Any]] | None = None
    goals_met: bool | None = None
    # Set by search on the final stage of each candidate chain.
    search_candidate: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The run.json form: fields that were never set are left out (the input model has no pass fields)."""
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if self.deltas is not None:  # an annotated stage states its baseline and verdict, even when there is none
            data.update(baseline=self.baseline, goals_met=self.goals_met)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
