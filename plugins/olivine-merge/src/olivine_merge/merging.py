"""Load the base (de-quantized for QLoRA), apply the adapter, merge it in and save safetensors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olivine import ModelRef, PassContext
from olivine_runtimes import without_bitsandbytes

from olivine_merge import direct
from olivine_merge.files import copy_tokenizer, drop_quantization_config, tokenizer_source
from olivine_merge.quantization import QuantSpec, find_quantization
from olivine_merge.quiet import quiet_transformers


def merge(config, model: ModelRef, ctx: PassContext) -> ModelRef:
    adapter_dir, base_dir = _inputs(model)
    quant = find_quantization(model)
    dtype_name = resolve_dtype(config.torch_dtype, quant, base_dir)
    out = ctx.output_dir / "model"
    direct_plan = None if quant is not None else direct.plan(adapter_dir, base_dir)
    steps = len(direct_plan["shards"]) if direct_plan else 3
    with ctx.progress(steps + 1, "MergeAdapterWeights") as bar:
        if direct_plan:
            direct.merge(direct_plan, base_dir, out, dtype_name, on_shard=lambda shard: bar.update(1, step=shard))
        else:
            with quiet_transformers(ctx.logger):
                _merge_with_peft(base_dir, adapter_dir, out, dtype_name, quant, bar)
        tokenizer_dir = tokenizer_source(adapter_dir, base_dir)
        copy_tokenizer(tokenizer_dir, out)
        dropped = drop_quantization_config(out / "config.json")
        bar.update(1, step="tokenizer saved")
    ctx.report["method"] = "direct" if direct_plan else "peft"
    adapter = _adapter_summary(adapter_dir)
    _report(ctx, adapter, dtype_name, quant, tokenizer_dir == adapter_dir, dropped)
    metadata: dict[str, Any] = {"dtype": dtype_name, "merged_adapter": adapter}
    if quant is not None:
        metadata["dequantized_from"] = quant.describe()
    return ModelRef(format="hf", path=out, metadata=metadata)


def _merge_with_peft(base_dir: Path, adapter_dir: Path, out: Path, dtype_name: str, quant: QuantSpec | None,
                     bar) -> None:
    base = load_base(base_dir, dtype_name, quant)
    bar.update(1, step="base loaded")
    merged = apply_adapter(base, adapter_dir)
    bar.update(1, step="adapter merged")
    merged.save_pretrained(out)
    bar.update(1, step="weights saved")


def _inputs(model: ModelRef) -> tuple[Path, Path]:
    adapter_dir = Path(model.path)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ValueError(f"no adapter_config.json in the adapter folder {adapter_dir}")
    if model.base_model is None or not (Path(model.base_model) / "config.json").is_file():
        raise ValueError(f"the adapter's base model folder is missing or has no config.json: {model.base_model}")
    return adapter_dir, Path(model.base_model)


def resolve_dtype(requested: str, quant: QuantSpec | None, base_dir: Path) -> str:
    """``auto``: a QLoRA adapter's compute dtype, else the dtype the base checkpoint was saved in."""
    if requested != "auto":
        return requested
    if quant is not None and quant.compute_dtype:
        return quant.compute_dtype
    saved = json.loads((base_dir / "config.json").read_text())
    name = saved.get("dtype") or saved.get("torch_dtype") or "float32"
    return name if name in ("float32", "float16", "bfloat16") else "float32"


def load_base(base_dir: Path, dtype_name: str, quant: QuantSpec | None):
    """The base as the adapter saw it: for QLoRA, quantized exactly as in training, then de-quantized."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = getattr(torch, dtype_name)
    if quant is None:
        return AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "device_map": {"": "cpu"}}
    if not quant.prequantized:
        kwargs["quantization_config"] = bnb_config(quant, dtype)
    quantized = AutoModelForCausalLM.from_pretrained(base_dir, **kwargs)
    return quantized.dequantize(dtype=dtype)


def bnb_config(quant: QuantSpec, dtype):
    import torch
    from transformers import BitsAndBytesConfig

    if quant.bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = getattr(torch, quant.compute_dtype) if quant.compute_dtype else dtype
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant.quant_type or "nf4",
                              bnb_4bit_use_double_quant=quant.double_quant, bnb_4bit_compute_dtype=compute)


def apply_adapter(base, adapter_dir: Path):
    with without_bitsandbytes():  # a quantized base loaded bitsandbytes already; a float one never needs it
        from peft import PeftModel

        return PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()


def _adapter_summary(adapter_dir: Path) -> dict[str, Any]:
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    keys = ("peft_type", "r", "lora_alpha", "target_modules", "use_dora", "use_rslora", "modules_to_save")
    summary = {key: config.get(key) for key in keys if config.get(key) not in (None, False)}
    if isinstance(summary.get("target_modules"), list):
        summary["target_modules"] = sorted(summary["target_modules"])
    return summary


def _report(ctx: PassContext, adapter: dict, dtype_name: str, quant: QuantSpec | None, own_tokenizer: bool,
            dropped: bool) -> None:
    targets = adapter.get("target_modules")
    shown = ", ".join(targets) if isinstance(targets, list) else targets
    ctx.note(f"merged {adapter.get('peft_type', 'LoRA')} r={adapter.get('r')} ({shown}) into the base, "
             f"saved as {dtype_name} safetensors with the {'adapter' if own_tokenizer else 'base'} tokenizer")
    ctx.report.update({"dtype": dtype_name, "adapter": adapter,
                       "tokenizer_from": "adapter" if own_tokenizer else "base"})
    if quant is not None:
        ctx.note(f"de-quantized the {quant.describe()} base (known from {quant.source}) to {dtype_name} "
                 "before merging, so the merged weights are those the adapter was trained against; "
                 "config.json has no quantization_config")
        ctx.report["dequantized"] = {"bits": quant.bits, "quant_type": quant.quant_type,
                                     "double_quant": quant.double_quant, "to": dtype_name,
                                     "quantization_config_dropped": True, "source": quant.source}
    elif dropped:
        ctx.note("dropped a leftover quantization_config from config.json")
