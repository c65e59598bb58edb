"""ModelRuntime: what evaluators use to run a model of one format, contributed by plugins.

Core's metric types (accuracy, perplexity, latency) know no runtime: they ask the runtime registered for
the model's format (``register_runtimes``) to encode, generate and time. A plugin that brings a format
(transformers models, onnxruntime-genai models) registers the runtime that loads it, and answers whether
an execution provider can run it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from olivine.errors import ConfigError
from olivine.models import ModelRef
from olivine.passes import Accelerator


@dataclass
class Timing:
    """One timed generation: time to first token, total time, tokens generated."""

    ttft_s: float
    total_s: float
    new_tokens: int


@dataclass
class ProviderProblem:
    """Why an execution provider cannot run a format here, and what to do about it."""

    message: str
    hint: str | None = None


class ModelRuntime:
    """Base of every model runtime. ``name`` is the model format it runs (``hf``, ``onnx-genai``)."""

    name: ClassVar[str] = ""
    # True when generate() runs several prompts at once (evaluators then send batches).
    batched: ClassVar[bool] = False
    # The tokenizer's special tokens as text, longest first: labels are cut at them before comparing.
    special_tokens: list[str] = []

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def provider_problem(cls, provider: str) -> ProviderProblem | None:
        """Why ``provider`` cannot run this format in this environment; None when it can (or does not apply)."""
        return None

    def __init__(self, model: ModelRef, accelerator: Accelerator, options: dict[str, Any]):
        self.model_ref = model
        self.accelerator = accelerator
        self.options = options

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def generate(self, prompts: list[str], max_new_tokens: int) -> list[list[int]]:
        """Greedy new tokens for each prompt, stopping at the model's stop tokens."""
        raise NotImplementedError

    def timed(self, prompt_ids: list[int], new_tokens: int) -> Timing:
        """Prefill ``prompt_ids``, then decode exactly ``new_tokens`` greedy tokens (stop tokens ignored)."""
        raise NotImplementedError

    def data_tokenizer(self) -> Any:
        """The Hugging Face tokenizer that pre-processes data (chat template, label masking) for this model."""
        raise NotImplementedError

    def summed_loss(self, batch: list[dict]) -> tuple[float, int]:
        """Next-token cross-entropy summed over labelled positions (labels -100 elsewhere), and their count."""
        raise NotImplementedError


def runtime_class(model_format: str, path: str = "") -> type[ModelRuntime]:
    """The installed runtime for ``model_format``; a ConfigError at ``path`` when no plugin brings one."""
    from olivine.plugins import get_plugins

    runtimes = get_plugins().runtimes
    if model_format not in runtimes:
        known = ", ".join(sorted(runtimes)) or "none"
        raise ConfigError(path or "evaluators", f"no installed plugin runs {model_format} models "
                                                f"(runtimes installed: {known})")
    return runtimes.get(model_format)


def open_runtime(model: ModelRef, accelerator: Accelerator, options: dict[str, Any] | None = None) -> ModelRuntime:
    return runtime_class(model.format)(model, accelerator, options or {})


def provider_problems(requests: list[list[str]]) -> list[dict[str, str | None] | None]:
    """For each ``[provider, format]``, why it cannot run here (``{"message", "hint"}``) or None.

    JSON in and out: PythonEnvironment asks this of its own interpreter.
    """
    from olivine.plugins import get_plugins

    runtimes = get_plugins().runtimes
    answers: list[dict[str, str | None] | None] = []
    for provider, model_format in requests:
        problem = runtimes.get(model_format).provider_problem(provider) if model_format in runtimes else None
        answers.append(None if problem is None else {"message": problem.message, "hint": problem.hint})
    return answers
