"""Merge a plain LoRA adapter straight into the base's safetensors files, one tensor at a time.

For the common case (LoRA on linear layers, safetensors checkpoints, optionally ``modules_to_save``
such as the embedding and LM head) the merge is W + scale * B @ A per targeted weight and a plain
replacement for each saved module: no model is instantiated and neither transformers nor peft is imported, so it
is faster and holds one tensor in memory instead of the whole model. The merged checkpoint keeps the
base's own tensor names and sharding. Anything else (DoRA, embedding LoRA, patterns, bias training,
.bin checkpoints, a weight the adapter names that the checkpoint lacks or holds in another shape)
returns None, and the caller merges through peft.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
from pathlib import Path
from typing import Any

from olivine_merge import streaming

ADAPTER_PREFIX = "base_model.model."
# Floating point dtypes cast to the merge dtype; fp8 and integer tensors are kept as they are.
_CAST = ("F64", "F32", "F16", "BF16")
_UNSUPPORTED_FLAGS = ("use_dora", "lora_bias", "layer_replication", "trainable_token_indices", "target_parameters",
                      "rank_pattern", "alpha_pattern", "use_qalora", "use_bdlora")


def plan(adapter_dir: Path, base_dir: Path) -> dict[str, Any] | None:
    """What a direct merge needs, or None when only peft can merge this adapter into this checkpoint."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    weights = adapter_dir / "adapter_model.safetensors"
    if config.get("peft_type") != "LORA" or config.get("bias", "none") != "none" or not weights.is_file():
        return None
    if any(config.get(flag) for flag in _UNSUPPORTED_FLAGS):
        return None
    shards = _shards(base_dir)
    if shards is None:
        return None
    from safetensors import safe_open

    with safe_open(weights, "pt") as adapter:
        shapes = {name: adapter.get_slice(name).get_shape() for name in adapter.keys()}
    lora = {name: module for name in shapes if (module := _module(name)) is not None}
    modules = sorted(set(lora.values()))
    others = [name for name in shapes if name not in lora]
    if len(lora) != 2 * len(modules) or not all(name.startswith(ADAPTER_PREFIX) for name in others):
        return None
    replaced = {name[len(ADAPTER_PREFIX):]: name for name in others}
    if not all(_saved_module(key, config.get("modules_to_save") or []) for key in replaced):
        return None
    located = {module: shards.get(f"{module}.weight") for module in modules}
    if None in located.values() or any(key not in shards for key in replaced):
        return None
    if any(_shape(base_dir / shards[key], key) != shapes[name] for key, name in replaced.items()):
        return None
    return {"config": config, "weights": weights, "modules": located, "replaced": replaced,
            "shards": sorted(set(shards.values()))}


def _saved_module(key: str, saved: list[str]) -> bool:
    """``lm_head.weight`` belongs to ``modules_to_save: ["lm_head"]``; anything else is not ours to merge."""
    module = key.rsplit(".", 1)[0]
    return any(module == entry or module.endswith("." + entry) for entry in saved)


def _shape(shard: Path, name: str) -> list[int]:
    from safetensors import safe_open

    with safe_open(shard, "pt") as handle:
        return handle.get_slice(name).get_shape()


def _module(name: str) -> str | None:
    """``base_model.model.model.layers.0.mlp.down_proj.lora_A.weight`` -> ``model.layers.0.mlp.down_proj``."""
    for part in (".lora_A.weight", ".lora_B.weight"):
        if name.startswith(ADAPTER_PREFIX) and name.endswith(part):
            return name[len(ADAPTER_PREFIX):-len(part)]
    return None


def _shards(base_dir: Path) -> dict[str, str] | None:
    index = base_dir / "model.safetensors.index.json"
    if index.is_file():
        return dict(json.loads(index.read_text())["weight_map"])
    single = base_dir / "model.safetensors"
    if not single.is_file():
        return None
    from safetensors import safe_open

    with safe_open(single, "pt") as handle:
        return {name: single.name for name in handle.keys()}


def merge(merge_plan: dict[str, Any], base_dir: Path, out: Path, dtype_name: str, on_shard=None) -> None:
    """Write the merged checkpoint into ``out``: shards, index, config.json (dtype) and generation config."""
    import torch
    from safetensors import safe_open

    config, dtype = merge_plan["config"], getattr(torch, dtype_name)
    rank = config["r"]
    scale = config["lora_alpha"] / (math.sqrt(rank) if config.get("use_rslora") else rank)
    targets = {f"{module}.weight": module for module in merge_plan["modules"]}
    replaced = merge_plan["replaced"]
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    with safe_open(merge_plan["weights"], "pt") as adapter:

        def merged(base, name: str):
            tensor = adapter.get_tensor(replaced[name]) if name in replaced else base.get_tensor(name)
            if name in targets:
                # A real copy: in place on the memory-mapped checkpoint tensor, every page would fault
                # copy-on-write inside the kernel (measured 150x slower on a 9216x3072 weight).
                fresh = tensor.to(torch.float32, copy=True)
                tensor = _add_delta(fresh, adapter, targets[name], scale, config.get("fan_in_fan_out"))
            return tensor.to(dtype) if streaming.safetensors_dtype(tensor.dtype) in _CAST else tensor

        for shard in merge_plan["shards"]:
            with safe_open(base_dir / shard, "pt") as base:
                entries = [_entry(base, name, streaming.safetensors_dtype(dtype)) for name in base.keys()]
                metadata = {**(base.metadata() or {}), "format": "pt"}
                total += streaming.write(out / shard, entries, functools.partial(merged, base), metadata)
            if on_shard is not None:
                on_shard(shard)
    _write_configs(base_dir, out, dtype_name, total)


def _entry(base, name: str, float_dtype: str) -> tuple[str, str, list[int]]:
    """(name, dtype, shape) of a tensor in the merged file: floating point weights take the merge dtype."""
    tensor = base.get_slice(name)
    dtype = tensor.get_dtype()
    return name, float_dtype if dtype in _CAST else dtype, tensor.get_shape()


def _add_delta(weight, adapter, module: str, scale: float, fan_in_fan_out: bool):
    """weight + scale * B @ A in float32, as peft's merge computes it, without a delta-sized temporary.

    ``weight`` is a fresh tensor read from the checkpoint (or its float32 copy), so it is updated in place.
    """
    a = adapter.get_tensor(f"{ADAPTER_PREFIX}{module}.lora_A.weight").float()
    b = adapter.get_tensor(f"{ADAPTER_PREFIX}{module}.lora_B.weight").float()
    if fan_in_fan_out:
        return weight.addmm_(a.T, b.T, alpha=scale)
    return weight.addmm_(b, a, alpha=scale)


def _write_configs(base_dir: Path, out: Path, dtype_name: str, total: int) -> None:
    config = json.loads((base_dir / "config.json").read_text())
    config["dtype"] = dtype_name
    if "torch_dtype" in config:
        config["torch_dtype"] = dtype_name
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    index = base_dir / "model.safetensors.index.json"
    if index.is_file():
        data = json.loads(index.read_text())
        data.setdefault("metadata", {})["total_size"] = total
        (out / index.name).write_text(json.dumps(data, indent=2) + "\n")
    if (base_dir / "generation_config.json").is_file():
        shutil.copy2(base_dir / "generation_config.json", out / "generation_config.json")
