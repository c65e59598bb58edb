"""Load the base model (4-bit for QLoRA), check the target modules, and wrap it in a LoRA adapter."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from olivine import ConfigError, did_you_mean
from olivine_runtimes import without_bitsandbytes

from olivine_lora import architectures, bnb_guard
from olivine_lora.precision import Precision, compute_dtype

# Input-model load kwargs that still apply; dtype, device and quantization are this pass's decisions.
PASSED_LOAD_KWARGS = ("trust_remote_code", "revision", "attn_implementation", "low_cpu_mem_usage")


@dataclass
class Loaded:
    model: Any  # peft.PeftModel
    tokenizer: Any
    targets: list[str] | str
    quantization: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)  # for the pass report: e.g. attention other than sdpa


def pick_device(use_cpu: bool) -> str:
    """CUDA whenever present (as Olive does), unless ``training_args.use_cpu``."""
    return "cuda" if torch.cuda.is_available() and not use_cpu else "cpu"


def load(cfg, base_dir: Path, load_kwargs: dict[str, Any], device: str, precision: Precision, quantized: bool,
         checkpointing: bool, path: str) -> Loaded:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir, trust_remote_code=load_kwargs.get("trust_remote_code", False))
    kwargs = {k: v for k, v in load_kwargs.items() if k in PASSED_LOAD_KWARGS}
    # No attn_implementation unless the user gave one: transformers then picks sdpa where the model
    # supports it and eager where it does not (Gemma 2, GPT-OSS); forcing sdpa refused those models.
    kwargs["dtype"] = precision.weights
    quantization = None
    if quantized:
        kwargs["quantization_config"], quantization = _bnb_config(cfg, precision)
        kwargs["device_map"] = {"": device}
    base = AutoModelForCausalLM.from_pretrained(base_dir, **kwargs)
    if not quantized:
        base.to(device)  # type: ignore[arg-type]  # transformers' decorated to() is typed as taking the model
    base.config.use_cache = False
    kind = getattr(base.config, "model_type", None)
    targets = resolve_targets(cfg.target_modules, base, kind, path)
    notes = attention_notes(base, "attn_implementation" in kwargs)
    check_names(cfg.modules_to_save, base, f"{path}.modules_to_save")
    check_parameter_names(cfg.target_parameters, base, f"{path}.target_parameters")
    for param in base.parameters():
        param.requires_grad_(False)
    if checkpointing:
        _checkpointing(base)
    if quantized:
        bnb_guard.protect(base)
    return Loaded(_wrap(cfg, base, targets), tokenizer, targets, quantization, notes)


def attention_notes(base, chosen_by_user: bool) -> list[str]:
    """A note when the model trains without sdpa (slower, more memory), unless the user asked for that."""
    attention = getattr(base.config, "_attn_implementation", None)
    if chosen_by_user or attention in (None, "sdpa"):
        return []
    return [f"{type(base).__name__} trains with {attention} attention: it does not support sdpa "
            "(set input_model.load_kwargs.attn_implementation to choose another)"]


def _checkpointing(base) -> None:
    enable = getattr(base, "activation_checkpointing_enable", None)  # transformers >= 5.x name
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    base.enable_input_require_grads()


def _bnb_config(cfg, precision: Precision):
    from transformers import BitsAndBytesConfig

    dtype = compute_dtype(cfg.compute_dtype, precision)
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=cfg.quant_type,
                                bnb_4bit_use_double_quant=cfg.double_quant, bnb_4bit_compute_dtype=dtype)
    record = {"method": "bitsandbytes", "bits": 4, "quant_type": cfg.quant_type, "double_quant": cfg.double_quant,
              "compute_dtype": str(dtype).removeprefix("torch."), "blocksize": 64}
    return config, record


def _wrap(cfg, base, targets):
    with without_bitsandbytes():  # a QLoRA base loaded bitsandbytes already; plain LoRA never needs it
        from peft import LoraConfig, get_peft_model

        parameters = {"target_parameters": cfg.target_parameters} if cfg.target_parameters else {}
        config = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.lora_dropout, target_modules=targets,
                            modules_to_save=cfg.modules_to_save, use_dora=cfg.use_dora, bias=cfg.bias,
                            task_type="CAUSAL_LM", **parameters)
        with warnings.catch_warnings():
            # peft asks the model for a renamed transformers property; nothing for a user to act on
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return get_peft_model(base, config)


def resolve_targets(targets: list[str] | str | None, base, kind: str | None, path: str) -> list[str] | str:
    """The targets to give PEFT; an entry that matches no module of the loaded model is a ConfigError."""
    if targets is None:
        return architectures.default_targets(kind, base)
    if isinstance(targets, str):
        if targets != "all-linear" and not any(re.fullmatch(targets, n) for n, _ in base.named_modules()):
            raise ConfigError(f"{path}.target_modules", f"the pattern {targets!r} matches no module of the model")
        return targets
    check_names(targets, base, f"{path}.target_modules")
    return list(targets)


def check_parameter_names(names: list[str] | None, base, path: str) -> None:
    """Each target_parameters entry names a weight of the model (by suffix), as PEFT matches them."""
    if not names:
        return
    weights = [n for n, _ in base.named_parameters()]
    for i, name in enumerate(names):
        if not any(w == name or w.endswith("." + name) for w in weights):
            short = sorted({".".join(w.split(".")[-2:]) for w in weights if "experts" in w}) or sorted(
                {w.rsplit(".", 1)[-1] for w in weights})
            raise ConfigError(f"{path}[{i}]", f"{name!r} matches no parameter of the model",
                              did_you_mean(name, short) or f"parameters such as: {', '.join(short[:8])}")


def check_names(names: list[str] | None, base, path: str) -> None:
    if not names:
        return
    modules = [n for n, _ in base.named_modules() if n]
    leaves = sorted({n.rsplit(".", 1)[-1] for n, m in base.named_modules() if n and not list(m.children())})
    for i, name in enumerate(names):
        if not any(m == name or m.endswith("." + name) for m in modules):
            raise ConfigError(f"{path}[{i}]", f"{name!r} matches no module of the model",
                              did_you_mean(name, leaves) or f"leaf modules: {', '.join(leaves[:12])}")
