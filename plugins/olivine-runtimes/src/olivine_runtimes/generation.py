"""Model runtimes for evaluation: transformers (``hf``, ``hf+adapter``) and onnxruntime-genai (``onnx-genai``).

Both runtimes offer the same small surface the evaluators need: encode, decode, greedy generation
of new tokens (stopping at any special token), and one timed generation for latency.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from olivine import Accelerator, ModelRef, ModelRuntime, ProviderProblem, Timing

from olivine_runtimes import providers, token_loss
from olivine_runtimes.lazy_bitsandbytes import without_bitsandbytes

# Execution provider -> onnxruntime-genai provider name.
GENAI_PROVIDERS = {
    "CUDAExecutionProvider": "cuda", "DmlExecutionProvider": "dml", "OpenVINOExecutionProvider": "OpenVINO",
    "QNNExecutionProvider": "QNN", "WebGpuExecutionProvider": "WebGPU", "NvTensorRTRTXExecutionProvider":
    "NvTensorRtRtx",
}

# onnxruntime-genai provider option that picks the device (DirectML adapter index, CUDA device).
DEVICE_ID_OPTIONS = {"dml": "device_index", "cuda": "device_id"}


class HfRuntime(ModelRuntime):
    """A transformers causal LM folder and its tokenizer, on the GPU when the accelerator asks for one."""

    name = "hf"
    batched = True

    def __init__(self, model: ModelRef, accelerator: Accelerator, options: dict[str, Any]):
        super().__init__(model, accelerator, options)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        base_dir = model.base_model if model.format == "hf+adapter" else model.path
        assert base_dir is not None, "an hf+adapter model always carries its base model"
        base = Path(base_dir)
        self.torch = torch
        self.device = "cuda" if accelerator.device == "gpu" and torch.cuda.is_available() else "cpu"
        torch_dtype = options.get("torch_dtype")
        dtype = getattr(torch, torch_dtype) if torch_dtype else (torch.float32 if self.device == "cpu" else "auto")
        kwargs = {k: v for k, v in (model.metadata.get("load_kwargs") or {}).items() if k == "trust_remote_code"}
        # A transformers model, or the PeftModel wrapping it (peft has no type information).
        self.model: Any = AutoModelForCausalLM.from_pretrained(base, dtype=dtype, **kwargs)
        if model.format == "hf+adapter":
            with without_bitsandbytes():  # the base is loaded unquantized
                from peft import PeftModel

                self.model = PeftModel.from_pretrained(self.model, str(model.path))
        self.model.to(self.device).eval()
        tokenizer_dir = Path(model.path) if _has_tokenizer(Path(model.path)) else base
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, **kwargs)
        self.stop_ids = _hf_stop_ids(self.tokenizer, self.model)
        self.special_tokens = sorted(_hf_special_tokens(self.tokenizer), key=len, reverse=True)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        # One id list decodes to one str; transformers types the batched case (list[str]) in the same union.
        return self.tokenizer.decode(ids, skip_special_tokens=True)  # type: ignore[return-value]

    def generate(self, prompts: list[str], max_new_tokens: int) -> list[list[int]]:
        """Greedy new tokens per prompt, cut at the first stop token."""
        from transformers import GenerationConfig

        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = min(self.stop_ids) if self.stop_ids else 0
        self.tokenizer.padding_side = "left"
        batch = self.tokenizer(prompts, return_tensors="pt", padding=len(prompts) > 1)
        config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                                  eos_token_id=sorted(self.stop_ids) or None)
        with self.torch.inference_mode():
            out = self.model.generate(**{k: v.to(self.device) for k, v in batch.items()}, generation_config=config)
        new = out[:, batch["input_ids"].shape[1]:].tolist()
        return [_until_stop(ids, self.stop_ids) for ids in new]

    def timed(self, prompt_ids: list[int], new_tokens: int) -> Timing:
        """Prefill then decode exactly ``new_tokens`` greedy tokens (stop tokens ignored), timed."""
        torch = self.torch
        ids = torch.tensor([prompt_ids], device=self.device)
        with torch.inference_mode():
            started = time.perf_counter()
            out = self.model(input_ids=ids, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
            self._sync()
            first = time.perf_counter()
            # transformers 5 renamed past_key_values to cache; older releases know only the former
            key = "cache" if "cache" in out else "past_key_values"
            for _ in range(new_tokens - 1):
                out = self.model(input_ids=token, use_cache=True, **{key: out[key]})
                token = out.logits[:, -1:].argmax(-1)
            self._sync()
            done = time.perf_counter()
        return Timing(first - started, done - started, new_tokens)

    def _sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def data_tokenizer(self) -> Any:
        return self.tokenizer

    def summed_loss(self, batch: list[dict]) -> tuple[float, int]:
        return token_loss.hf_summed_loss(self, batch)


class HfAdapterRuntime(HfRuntime):
    """A transformers causal LM with its PEFT (LoRA) adapter applied, unmerged."""

    name = "hf+adapter"


class GenaiRuntime(ModelRuntime):
    """An onnxruntime-genai model folder (``genai_config.json``) on the requested execution provider."""

    name = "onnx-genai"
    batched = True

    @classmethod
    def provider_problem(cls, provider: str) -> ProviderProblem | None:
        problem = providers.provider_problem(provider, providers.GENAI)
        return None if problem is None else ProviderProblem(problem.message, problem.hint)

    def __init__(self, model: ModelRef, accelerator: Accelerator, options: dict[str, Any]):
        super().__init__(model, accelerator, options)
        import onnxruntime_genai as og

        clear_providers = bool(options.get("clear_providers"))

        self.og = og
        config = og.Config(str(model.path))
        provider = GENAI_PROVIDERS.get(accelerator.execution_provider)
        if clear_providers or accelerator.execution_provider == "CPUExecutionProvider":
            config.clear_providers()  # the folder may name the provider it was built for (dml, cuda)
            self.provider = "cpu"
        elif provider is not None:
            if provider not in _configured_providers(Path(model.path)):
                config.clear_providers()
                config.append_provider(provider)
            # else the folder's own options stay, as the builder set them (dml: enable_graph_capture)
            if accelerator.device_id and provider in DEVICE_ID_OPTIONS:
                config.set_provider_option(provider, DEVICE_ID_OPTIONS[provider], str(accelerator.device_id))
            self.provider = provider
        else:
            self.provider = "as in genai_config.json"
        self.model_path = Path(model.path)
        self.model = og.Model(config)
        self.tokenizer = og.Tokenizer(self.model)
        specials = _genai_special_tokens(Path(model.path))
        self.stop_ids = set(specials.values()) | set(_genai_eos_ids(Path(model.path)))
        self.special_tokens = sorted(specials, key=len, reverse=True)

    def encode(self, text: str) -> list[int]:
        return [int(i) for i in self.tokenizer.encode(text)]

    def decode(self, ids: list[int]) -> str:
        import numpy as np

        return self.tokenizer.decode(np.asarray(ids, dtype=np.int32)) if ids else ""

    def generate(self, prompts: list[str], max_new_tokens: int) -> list[list[int]]:
        """Prompts of equal token length run as one batch, so no row sees padding it was not trained with."""
        encoded = [self.encode(p) for p in prompts]
        by_length: dict[int, list[int]] = {}
        for row, ids in enumerate(encoded):
            by_length.setdefault(len(ids), []).append(row)
        results: list[list[int]] = [[] for _ in prompts]
        for rows in by_length.values():
            for row, new in zip(rows, self._generate_batch([encoded[r] for r in rows], max_new_tokens), strict=True):
                results[row] = new
        return results

    def _generate_batch(self, encoded: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        import numpy as np

        params = self.og.GeneratorParams(self.model)
        params.set_search_options(max_length=len(encoded[0]) + max_new_tokens, do_sample=False,
                                  batch_size=len(encoded))
        generator = self.og.Generator(self.model, params)
        generator.append_tokens(np.asarray(encoded, dtype=np.int32))
        new: list[list[int]] = [[] for _ in encoded]
        while not generator.is_done() and len(new[0]) < max_new_tokens:
            generator.generate_next_token()
            for row, token in enumerate(generator.get_next_tokens()):
                new[row].append(int(token))
        return [_until_stop(ids, self.stop_ids) for ids in new]

    def timed(self, prompt_ids: list[int], new_tokens: int) -> Timing:
        import numpy as np

        params = self.og.GeneratorParams(self.model)
        total = len(prompt_ids) + new_tokens
        params.set_search_options(max_length=total, min_length=total, do_sample=False)
        generator = self.og.Generator(self.model, params)
        started = time.perf_counter()
        generator.append_tokens(np.asarray([prompt_ids], dtype=np.int32))
        generator.generate_next_token()
        first = time.perf_counter()
        produced = 1
        while produced < new_tokens and not generator.is_done():
            generator.generate_next_token()
            produced += 1
        done = time.perf_counter()
        return Timing(first - started, done - started, produced)

    def data_tokenizer(self) -> Any:
        """onnxruntime-genai's own tokenizer has no chat template or label masking: data is pre-processed
        with transformers, from the tokenizer files the builder copies into the folder."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_path)

    def summed_loss(self, batch: list[dict]) -> tuple[float, int]:
        return token_loss.genai_summed_loss(self, batch)


def _until_stop(ids: list[int], stop_ids: set[int]) -> list[int]:
    for i, token in enumerate(ids):
        if token in stop_ids:
            return ids[:i]
    return ids


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "tokenizer_config.json").is_file()


def _hf_special_tokens(tokenizer) -> dict[str, int]:
    tokens = {t: i for t, i in zip(tokenizer.all_special_tokens, tokenizer.all_special_ids, strict=False)}
    for token_id, added in getattr(tokenizer, "added_tokens_decoder", {}).items():
        if getattr(added, "special", False):
            tokens[str(added)] = token_id
    return tokens


def _hf_stop_ids(tokenizer, model) -> set[int]:
    ids = set(_hf_special_tokens(tokenizer).values())
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    return ids


def _genai_special_tokens(folder: Path) -> dict[str, int]:
    try:
        data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {t["content"]: t["id"] for t in data.get("added_tokens", []) if t.get("special")}


def _configured_providers(folder: Path) -> list[str]:
    """Providers genai_config.json names for the decoder (what the builder targeted)."""
    try:
        config = json.loads((folder / "genai_config.json").read_text())
        options = config["model"]["decoder"]["session_options"].get("provider_options", [])
    except (OSError, ValueError, KeyError):
        return []
    return [name for entry in options for name in entry]


def _genai_eos_ids(folder: Path) -> list[int]:
    try:
        eos = json.loads((folder / "genai_config.json").read_text())["model"]["eos_token_id"]
    except (OSError, ValueError, KeyError):
        return []
    return eos if isinstance(eos, list) else [eos]
