"""lm-eval's model interface over an onnxruntime-genai model folder (what ModelBuilder produces).

Log-likelihoods come from the model's logits: the context is prefilled, then each continuation token is
scored from the logits of the position before it and appended. This works whether the folder returns
logits for every position or only the last one (ModelBuilder may build either). Generation is greedy.
Requests run one at a time: onnxruntime-genai batches take no attention mask, so rows of unequal length
would be scored against padding.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from lm_eval.api.model import TemplateLM
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

DEFAULT_MAX_LENGTH = 2048
DEFAULT_MAX_GEN_TOKS = 256


class GenaiLM(TemplateLM):
    """Scores and generates with the onnx-genai runtime olivine-runtimes registers (its provider choice)."""

    def __init__(self, runtime: Any, max_length: int | None = None, progress: Callable[..., Any] | None = None,
                 label: str = "lm-eval"):
        super().__init__()
        for needed in ("og", "model", "encode", "decode"):
            if not hasattr(runtime, needed):
                raise TypeError(f"the installed onnx-genai runtime {type(runtime).__name__} has no {needed!r}: "
                                "LMEvaluator needs olivine-runtimes' GenaiRuntime")
        self.runtime = runtime
        self.og = runtime.og
        config = _genai_config(Path(runtime.model_ref.path))
        self._eos = _ids(config.get("eos_token_id"))
        bos = config.get("bos_token_id")
        self._prefix = bos if isinstance(bos, int) else (self._eos[0] if self._eos else 0)
        self._max_length = max_length or config.get("context_length") or DEFAULT_MAX_LENGTH
        # Generation stops at the end-of-sequence ids and the task's ``until`` strings, as lm-eval's HFLM does.
        self._stop = set(self._eos)
        self._progress = progress
        self._label = label
        # onnxruntime-genai's tokenizer adds what its config says (a BOS for Llama-style tokenizers) and has
        # no switch: lm-eval's add_special_tokens=False then means dropping that BOS.
        probe = runtime.encode("a")
        self._adds_prefix = len(probe) > 1 and probe[0] == self._prefix

    # --- tokens -----------------------------------------------------------------------------------------
    @property
    def eot_token_id(self) -> int:
        return self._eos[0] if self._eos else self._prefix

    @property
    def prefix_token_id(self) -> int:
        return self._prefix

    @property
    def max_length(self) -> int:
        return int(self._max_length)

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs: Any) -> list[int]:
        ids = self.runtime.encode(string)
        if add_special_tokens is False and self._adds_prefix and ids and ids[0] == self._prefix:
            return ids[1:]
        return ids

    def tok_decode(self, ids: list[int]) -> str:
        return self.runtime.decode(ids)

    # --- log-likelihood ---------------------------------------------------------------------------------
    def _loglikelihood_tokens(self, requests: list[tuple[tuple[str, str], list[int], list[int]]],
                              disable_tqdm: bool = False, **kwargs: Any) -> list[tuple[float, bool]]:
        answers = []
        with self._bar(len(requests), "log-likelihoods") as bar:
            for _, context, continuation in requests:
                answers.append(self._score(context, continuation))
                bar.update(1)
        return answers

    def _score(self, context: list[int], continuation: list[int]) -> tuple[float, bool]:
        """Sum of log-probabilities of ``continuation`` after ``context``, and whether greedy picks it all."""
        whole = (context + continuation)[-(self.max_length + 1):]
        prefix = whole[:len(whole) - len(continuation)]
        params = self.og.GeneratorParams(self.runtime.model)
        params.set_search_options(max_length=len(whole), do_sample=False)
        generator = self.og.Generator(self.runtime.model, params)
        generator.append_tokens(np.asarray([prefix], dtype=np.int32))
        total, greedy = 0.0, True
        for i, token in enumerate(continuation):
            logits = np.asarray(generator.get_output("logits"), dtype=np.float64)[0, -1]
            peak = logits.max()
            total += float(logits[token] - peak - np.log(np.exp(logits - peak).sum()))
            greedy = greedy and int(logits.argmax()) == token
            if i + 1 < len(continuation):
                generator.append_tokens(np.asarray([[token]], dtype=np.int32))
        return total, greedy

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Whole-text log-likelihood in windows of ``max_length`` tokens, each token scored once."""
        answers = []
        with self._bar(len(requests), "rolling log-likelihoods") as bar:
            for (text,) in (req.args for req in requests):
                windows = get_rolling_token_windows(token_list=self.tok_encode(text, add_special_tokens=False),
                                                    prefix_token=self.prefix_token_id,
                                                    max_seq_len=self.max_length, context_len=1)
                answers.append(sum(self._score(*make_disjoint_window(w))[0] for w in windows))
                bar.update(1)
        return answers

    # --- generation -------------------------------------------------------------------------------------
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        answers = []
        with self._bar(len(requests), "generating") as bar:
            for context, gen_kwargs in (req.args for req in requests):
                answers.append(self._generate(context, dict(gen_kwargs or {})))
                bar.update(1)
        return answers

    def _generate(self, context: str, gen_kwargs: dict[str, Any]) -> str:
        """Greedy tokens after ``context`` up to ``max_gen_toks``, a stop token, or the first ``until`` string."""
        until = gen_kwargs.get("until") or [self.tok_decode([self.eot_token_id])]
        until = [until] if isinstance(until, str) else list(until)
        max_new = int(gen_kwargs.get("max_gen_toks") or DEFAULT_MAX_GEN_TOKS)
        ids = self.tok_encode(context)[-max(1, self.max_length - max_new):]
        params = self.og.GeneratorParams(self.runtime.model)
        params.set_search_options(max_length=len(ids) + max_new, do_sample=False)
        generator = self.og.Generator(self.runtime.model, params)
        generator.append_tokens(np.asarray([ids], dtype=np.int32))
        new: list[int] = []
        while not generator.is_done() and len(new) < max_new:
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            if token in self._stop:
                break
            new.append(token)
            text = self.tok_decode(new)
            if any(stop and stop in text for stop in until):
                break
        text = self.tok_decode(new)
        for stop in until:
            if stop:
                text = text.split(stop)[0]
        return text

    def _bar(self, total: int, what: str) -> Any:
        if self._progress is None:
            return contextlib.nullcontext(_Silent())
        return self._progress(total, f"{self._label}: {what}")


class _Silent:
    def update(self, n: int) -> None:
        pass


def _genai_config(folder: Path) -> dict[str, Any]:
    """The ``model`` section of genai_config.json (token ids, context length)."""
    try:
        return dict(json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))["model"])
    except (OSError, ValueError, KeyError):
        return {}


def _ids(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, list) else [int(value)] if isinstance(value, int) else []
