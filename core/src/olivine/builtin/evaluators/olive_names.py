"""Olive's metric types by Olive's names: ``size_on_disk`` (as ``size``) and ``throughput`` (generations per
second, from the same timed runs as ``latency``)."""

from __future__ import annotations

import statistics

from olivine.builtin.evaluators.common import only, requested
from olivine.builtin.evaluators.latency import PERCENTILES, Latency, percentile
from olivine.builtin.evaluators.size import Size
from olivine.evaluators import EvalContext
from olivine.models import ModelRef


class SizeOnDisk(Size):
    """Olive's name for size: bytes on disk (adapter plus base for hf+adapter) and parameter count."""

    name = "size_on_disk"


class Throughput(Latency):
    """Generations per second over N timed runs (avg, percentiles) and decode tokens/s (hf, onnx-genai)."""

    name = "throughput"
    sub_types = ("avg", "min", "max", *PERCENTILES, "tokens_per_second")
    higher_is_better = dict.fromkeys(sub_types, True)

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        timed = self.timed_runs(model, ctx)
        rates = sorted(1 / t.total_s for t in timed if t.total_s > 0)
        decode = [(t.new_tokens - 1) / (t.total_s - t.ttft_s) for t in timed
                  if t.new_tokens > 1 and t.total_s > t.ttft_s]
        values = {"avg": statistics.fmean(rates), "min": rates[0], "max": rates[-1],
                  "tokens_per_second": statistics.median(decode) if decode else 0.0}
        values.update({name: percentile(rates, q) for name, q in PERCENTILES.items()})
        return only(values, requested(self, ctx))
