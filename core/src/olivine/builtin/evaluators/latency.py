"""latency: generation time of one prompt over N runs after warm-up, time to first token, decode speed."""

from __future__ import annotations

import statistics

from pydantic import Field

from olivine.builtin.evaluators.common import RuntimeEvaluator, RuntimeOptions, only, requested
from olivine.evaluators import EvalContext
from olivine.models import ModelRef

DEFAULT_PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
PERCENTILES = {"p50": 50, "p75": 75, "p90": 90, "p95": 95, "p99": 99}


class Latency(RuntimeEvaluator):
    """Milliseconds per generation (avg, percentiles), time to first token and decode tokens/s (hf, onnx-genai)."""

    name = "latency"
    sub_types = ("avg", "min", "max", *PERCENTILES, "ttft", "tokens_per_second")
    higher_is_better = {**{name: False for name in ("avg", "min", "max", *PERCENTILES, "ttft")},
                        "tokens_per_second": True}

    class Config(RuntimeOptions):
        warmup_runs: int = Field(2, ge=0, description="untimed generations first")
        runs: int = Field(10, gt=0, description="timed generations")
        prompt: str | None = Field(None, description="prompt text (default: the data config's first prompt, "
                                   "else a fixed sentence)")
        max_new_tokens: int = Field(32, gt=0, description="tokens generated per run (stop tokens ignored)")

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        return only(summarize(self.timed_runs(model, ctx)), requested(self, ctx))

    def timed_runs(self, model: ModelRef, ctx: EvalContext) -> list:
        """The warm-up, then ``runs`` timed generations of one prompt (also what throughput reports)."""
        from olivine.runtimes import open_runtime

        cfg = self.config
        runtime = open_runtime(model, ctx.accelerator, cfg.runtime_options())
        prompt_ids = runtime.encode(self._prompt(ctx))
        for _ in range(cfg.warmup_runs):
            runtime.timed(prompt_ids, cfg.max_new_tokens)
        timings = []
        with ctx.progress(cfg.runs, f"{ctx.metric.name}: timing") as bar:
            for _ in range(cfg.runs):
                timings.append(runtime.timed(prompt_ids, cfg.max_new_tokens))
                bar.update(1)
        ctx.note(f"{ctx.metric.name}: {cfg.runs} runs of {len(prompt_ids)} prompt + {cfg.max_new_tokens} new tokens "
                 f"on {model.format}")
        return timings

    def _prompt(self, ctx: EvalContext) -> str:
        if self.config.prompt is not None:
            return self.config.prompt
        if isinstance(ctx.metric.data_config, str):
            from olivine.data import prompt_label_pairs

            return prompt_label_pairs(ctx.data_configs[ctx.metric.data_config])[0][0]
        return DEFAULT_PROMPT


def summarize(timings) -> dict[str, float]:
    """Latencies in milliseconds; ttft and tokens_per_second are medians over the runs."""
    totals = sorted(t.total_s * 1000 for t in timings)
    decode_rates = [(t.new_tokens - 1) / (t.total_s - t.ttft_s) for t in timings
                    if t.new_tokens > 1 and t.total_s > t.ttft_s]
    values = {"avg": statistics.fmean(totals), "min": totals[0], "max": totals[-1],
              "ttft": statistics.median(t.ttft_s * 1000 for t in timings),
              "tokens_per_second": statistics.median(decode_rates) if decode_rates else 0.0}
    values.update({name: percentile(totals, q) for name, q in PERCENTILES.items()})
    return values


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
