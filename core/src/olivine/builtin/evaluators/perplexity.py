"""perplexity: mean token loss of the data config's pre-processed examples, and its exponential."""

from __future__ import annotations

import math

from pydantic import Field

from olivine.builtin.evaluators.common import RuntimeEvaluator, RuntimeOptions, data_config, only, requested
from olivine.evaluators import EvalContext
from olivine.models import ModelRef


class Perplexity(RuntimeEvaluator):
    """Eval loss and perplexity over the labelled tokens of a data config (hf, hf+adapter, onnx-genai)."""

    name = "perplexity"
    sub_types = ("perplexity", "loss")
    higher_is_better = {"perplexity": False, "loss": False}
    needs_data = True

    class Config(RuntimeOptions):
        batch_size: int = Field(8, gt=0, description="examples per forward pass")
        max_samples: int | None = Field(None, gt=0, description="evaluate the first N examples only")

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        from olivine.data import training_examples
        from olivine.runtimes import open_runtime

        runtime = open_runtime(model, ctx.accelerator, self.config.runtime_options())
        examples, _ = training_examples(data_config(ctx), runtime.data_tokenizer())
        examples = examples[:self.config.max_samples]
        total_loss, total_tokens = 0.0, 0
        size = self.config.batch_size
        with ctx.progress(len(examples), f"{ctx.metric.name}: scoring") as bar:
            for start in range(0, len(examples), size):
                batch = examples[start:start + size]
                loss, tokens = runtime.summed_loss(batch)
                total_loss, total_tokens = total_loss + loss, total_tokens + tokens
                bar.update(len(batch))
        mean = total_loss / max(total_tokens, 1)
        ctx.note(f"{ctx.metric.name}: {total_tokens} labelled tokens in {len(examples)} examples")
        return only({"loss": mean, "perplexity": math.exp(min(mean, 700.0))}, requested(self, ctx))

