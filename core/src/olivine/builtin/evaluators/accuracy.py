"""accuracy: greedy generation after each prompt, compared (normalized) with the label."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from olivine.builtin.evaluators.common import RuntimeEvaluator, RuntimeOptions, data_config, only, requested
from olivine.errors import ConfigError
from olivine.evaluators import EvalContext
from olivine.models import ModelRef
from olivine.passes import ValidationContext

MISMATCHES_LOGGED = 3  # at INFO; the rest at DEBUG, all of them in the run report


class Accuracy(RuntimeEvaluator):
    """Share of prompts whose greedy generation matches the label (hf, hf+adapter, onnx-genai)."""

    name = "accuracy"
    sub_types = ("accuracy_score",)
    higher_is_better = {"accuracy_score": True}
    needs_data = True

    class Config(RuntimeOptions):
        max_new_tokens: int = Field(16, gt=0, description="tokens generated after each prompt")
        batch_size: int = Field(8, gt=0, description="prompts generated together")
        max_samples: int | None = Field(None, gt=0, description="evaluate the first N rows only")
        label_normalize: Literal["none", "strip", "lower", "alnum"] = Field(
            "lower", description="none: exact text; strip: outer whitespace; lower: strip, lower-case, single "
            "spaces; alnum: lower plus letters, digits and spaces only")
        match: Literal["exact", "prefix"] = Field("exact", description="prefix: the generation starts with the label")

    def validate_metric(self, metric: Any, ctx: ValidationContext) -> None:
        super().validate_metric(metric, ctx)
        from pydantic import ValidationError

        from olivine.data.options import PreProcessOptions
        from olivine.data.pairs import split_templates

        data = ctx.data_configs.get(metric.data_config)
        if data is None:
            return
        try:
            split_templates(PreProcessOptions.model_validate(data.pre_process_data_config), data.name)
        except ValidationError:
            return  # reported at the data config itself
        except ConfigError as exc:
            raise ConfigError(f"{ctx.path}.data_config", f"{metric.data_config}: {exc.message}", exc.hint) from None

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        from olivine.data import prompt_label_pairs
        from olivine.runtimes import open_runtime

        cfg = self.config
        pairs = prompt_label_pairs(data_config(ctx))[:cfg.max_samples]
        runtime = open_runtime(model, ctx.accelerator, cfg.runtime_options())
        predictions = _generate_all(runtime, [p for p, _ in pairs], cfg, ctx)
        correct = 0
        mismatches: list[str] = []
        for (prompt, label), predicted in zip(pairs, predictions, strict=True):
            expected = normalize(cut_at_special(label, runtime.special_tokens), cfg.label_normalize)
            got = normalize(predicted, cfg.label_normalize)
            if got == expected or (cfg.match == "prefix" and got.startswith(expected)):
                correct += 1
            else:
                mismatches.append(f"expected {expected!r}, generated {got!r} after {prompt[-80:]!r}")
        ctx.note(f"{ctx.metric.name}: {correct}/{len(pairs)} correct on {model.format}")
        _report_mismatches(mismatches, ctx)
        return only({"accuracy_score": correct / len(pairs)}, requested(self, ctx))


def _report_mismatches(lines: list[str], ctx: EvalContext) -> None:
    """Every wrong answer goes to the run report; the log shows the first few, all of them at debug level."""
    for line in lines[:MISMATCHES_LOGGED]:
        ctx.note(line)
    rest = lines[MISMATCHES_LOGGED:]
    if rest:
        ctx.logger.info("%s: %d more wrong answers in run.json (-vv logs them)", ctx.metric.name, len(rest))
    for line in rest:
        ctx.report.setdefault("notes", []).append(line)
        ctx.logger.debug(line)


def _generate_all(runtime, prompts: list[str], cfg, ctx: EvalContext) -> list[str]:
    """Generations in prompt order; batches hold prompts of similar token length (less padding)."""
    size = cfg.batch_size if runtime.batched else 1
    order = sorted(range(len(prompts)), key=lambda i: len(runtime.encode(prompts[i])))
    outputs: list[str] = [""] * len(prompts)
    with ctx.progress(len(prompts), f"{ctx.metric.name}: generating") as bar:
        for start in range(0, len(order), size):
            rows = order[start:start + size]
            for row, ids in zip(rows, runtime.generate([prompts[r] for r in rows], cfg.max_new_tokens), strict=True):
                outputs[row] = runtime.decode(ids)
            bar.update(len(rows))
    return outputs


def cut_at_special(text: str, special_tokens: list[str]) -> str:
    """The label up to its first special token: ``"joy<|end|>"`` -> ``"joy"``."""
    cut = len(text)
    for token in special_tokens:
        found = text.find(token)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]


def normalize(text: str, mode: str) -> str:
    if mode == "none":
        return text
    if mode == "strip":
        return text.strip()
    text = " ".join(text.lower().split())
    if mode == "alnum":
        text = " ".join(re.sub(r"[^\w\s]", " ", text).split())
    return text
