"""Search over pass parameters: run each candidate chain (through the cache), evaluate it, keep the best.

The best candidate is the one ranked highest by the prioritized sub metrics among those meeting every
goal; when none does, the highest-ranked overall, flagged in the report.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from olivine.goals import SubMetric, annotate, flat_values, rank_key
from olivine.search_space import with_values
from olivine.stage import Stage

log = logging.getLogger("olivine.search")


@dataclass
class ChainRun:
    """One run of the pass chain: per-pass results, its report stages and the final model."""

    results: list[Any]
    stages: list[Stage]
    model: Any


@dataclass(frozen=True)
class Dim:
    pass_key: str
    key: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.pass_key}.{self.key}"


@dataclass
class Candidate:
    index: int
    params: dict[str, Any]
    chain: ChainRun
    values: dict[str, float]
    goals_met: bool | None
    step: str = "joint"

    def acceptable(self) -> bool:
        return self.goals_met is not False


@dataclass
class SearchOutcome:
    chosen: Candidate
    candidates: list[Candidate] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


def strategy_of(engine_config) -> Any:
    """The engine's SearchStrategyConfig; ``true`` means the defaults, ``false``/absent means no search."""
    from olivine.config.schema import SearchStrategyConfig

    value = engine_config.search_strategy
    if value is True:
        return SearchStrategyConfig()
    return value or None


def dims_of(passes) -> list[Dim]:
    return [Dim(item.key, key, tuple(values)) for item in passes for key, values in item.search_space.items()]


class Search:
    def __init__(self, passes, strategy, subs: list[SubMetric], run_chain: Callable[[list], ChainRun],
                 baseline: Stage | None):
        self.passes = passes
        self.strategy = strategy
        self.subs = subs
        self.run_chain = run_chain
        self.baseline = baseline
        self.candidates: list[Candidate] = []
        self._seen: dict[tuple, Candidate] = {}
        self._deadline = time.monotonic() + strategy.max_time if strategy.max_time else None

    def run(self) -> SearchOutcome:
        dims = dims_of(self.passes)
        if self.strategy.execution_order == "pass-by-pass":
            chosen = self._pass_by_pass(dims)
        else:
            chosen = self._search(dims, {}, "joint")
        for candidate in self.candidates:
            candidate.chain.stages[-1].search_candidate = candidate.index
        return SearchOutcome(chosen, self.candidates, self._record(dims, chosen))

    def _pass_by_pass(self, dims: list[Dim]) -> Candidate:
        """Search one pass at a time; earlier passes keep their best values, later ones their first."""
        fixed = {d.name: d.values[0] for d in dims}
        chosen: Candidate | None = None
        for pass_key in dict.fromkeys(d.pass_key for d in dims):
            mine = [d for d in dims if d.pass_key == pass_key]
            others = {name: value for name, value in fixed.items() if not name.startswith(f"{pass_key}.")}
            chosen = self._search(mine, others, pass_key)
            fixed.update({d.name: chosen.params[d.name] for d in mine})
        assert chosen is not None  # a search has at least one dimension
        return chosen

    def _search(self, dims: list[Dim], fixed: dict[str, Any], step: str) -> Candidate:
        limits = [n for n in (self.strategy.max_samples, self.strategy.max_iter) if n]
        total = math.prod(len(d.values) for d in dims)
        count = min([*limits, total])
        if self.strategy.sampler == "tpe":
            tried = self._tpe(dims, fixed, step, count)
        else:
            tried = []
            for params in self._grid(dims, count):
                tried.append(self._evaluate({**fixed, **params}, step))
                if self._goals_met(tried[-1]) or self._out_of_time():
                    break
        return best(tried, self.subs)

    def _goals_met(self, candidate: Candidate) -> bool:
        """``stop_when_goals_met``: the first candidate meeting every goal ends this search (step)."""
        if self.strategy.stop_when_goals_met and candidate.goals_met:
            log.info("search: candidate %d meets every goal; stopping (stop_when_goals_met)", candidate.index)
            return True
        return False

    def _out_of_time(self) -> bool:
        """``max_time`` (seconds) stops drawing candidates; the one running is always finished."""
        if self._deadline is not None and time.monotonic() >= self._deadline:
            log.info("search: max_time reached after %d candidates", len(self.candidates))
            return True
        return False

    def _grid(self, dims: list[Dim], count: int) -> Iterator[dict[str, Any]]:
        combos = itertools.product(*(d.values for d in dims))
        if self.strategy.sampler == "sequential":
            for combo in itertools.islice(combos, count):
                yield {d.name: v for d, v in zip(dims, combo, strict=True)}
            return
        sizes = [len(d.values) for d in dims]
        for index in random.Random(self.strategy.seed).sample(range(math.prod(sizes)), count):
            yield {d.name: d.values[i] for d, i in zip(dims, _digits(index, sizes), strict=True)}

    def _tpe(self, dims: list[Dim], fixed: dict[str, Any], step: str, count: int) -> list[Candidate]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.strategy.seed, n_startup_trials=min(count, 3))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        tried: dict[tuple, Candidate] = {}
        attempts = 0
        while len(tried) < count and attempts < 4 * count:
            attempts += 1
            trial = study.ask()
            indexes = [trial.suggest_categorical(d.name, list(range(len(d.values)))) for d in dims]
            params = {d.name: d.values[i] for d, i in zip(dims, indexes, strict=True)}
            candidate = self._evaluate({**fixed, **params}, step)
            tried[tuple(indexes)] = candidate
            study.tell(trial, _objective(candidate, self.subs))
            if self._goals_met(candidate) or self._out_of_time():
                break
        return list(tried.values())

    def _evaluate(self, params: dict[str, Any], step: str) -> Candidate:
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        if key in self._seen:
            return self._seen[key]
        log.info("search candidate %d: %s", len(self.candidates), _describe(params))
        chain = self.run_chain(self.candidate_passes(params))
        final = chain.stages[-1]
        annotate(final, self.baseline or _previous_evaluated(chain.stages), self.subs)
        candidate = Candidate(len(self.candidates), dict(params), chain, flat_values(final.metrics),
                              final.goals_met, step)
        self.candidates.append(candidate)
        self._seen[key] = candidate
        return candidate

    def candidate_passes(self, params: dict[str, Any]) -> list:
        """The planned passes with these search values, each validated by its pass's Config."""
        passes = []
        for item in self.passes:
            mine = {name.split(".", 1)[1]: value for name, value in params.items()
                    if name.split(".", 1)[0] == item.key}
            if not mine:
                passes.append(item)
                continue
            raw = with_values(item.raw_config, mine)
            cls = type(item.instance)
            passes.append(dataclasses.replace(item, instance=cls(cls.parse_config(raw, f"passes.{item.key}")),
                                              raw_config=raw))
        return passes

    def _record(self, dims: list[Dim], chosen: Candidate) -> dict[str, Any]:
        return {
            **self.strategy.model_dump(mode="json"),
            "space": {d.name: list(d.values) for d in dims},
            "candidates": [_candidate_record(c, c is chosen) for c in self.candidates],
            "chosen": chosen.index,
            "chosen_meets_goals": chosen.goals_met,
            "ranked": [c.index for c in ranked(self.candidates, self.subs)][:self.strategy.output_model_num or 1],
        }


def best(candidates: list[Candidate], subs: list[SubMetric]) -> Candidate:
    """Highest rank among those meeting the goals (else among all); the earlier candidate wins a tie."""
    return ranked(candidates, subs)[0]


def ranked(candidates: list[Candidate], subs: list[SubMetric]) -> list[Candidate]:
    """Best first: those meeting the goals, then the rest, each by rank (``output_model_num`` reports the top)."""
    return sorted(candidates, key=lambda c: (not c.acceptable(), tuple(-v for v in rank_key(c.values, subs)),
                                             c.index))


def _objective(candidate: Candidate, subs: list[SubMetric]) -> float:
    first = rank_key(candidate.values, subs)[:1]
    value = first[0] if first and math.isfinite(first[0]) else -1e30
    return value if candidate.acceptable() else value - 1e12  # goal misses rank below every goal hit


def _previous_evaluated(stages: list[Stage]) -> Stage | None:
    return next((s for s in reversed(stages[:-1]) if flat_values(s.metrics)), None)


def _digits(index: int, sizes: list[int]) -> list[int]:
    digits = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        digits.append(digit)
    return list(reversed(digits))


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _candidate_record(candidate: Candidate, chosen: bool) -> dict[str, Any]:
    final = candidate.chain.stages[-1]
    return {
        "index": candidate.index, "step": candidate.step, "params": candidate.params, "chosen": chosen,
        "metrics": final.metrics, "deltas": final.deltas or {}, "goals": final.goals or [],
        "goals_met": candidate.goals_met, "format": final.format, "path": final.path,
        "cache_key": final.cache_key, "cache_hits": sum(1 for r in candidate.chain.results if r.cache_hit),
    }
