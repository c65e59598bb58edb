"""size: bytes on disk and parameter count, read from file headers without loading the model."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from olivine.builtin.evaluators.common import BuiltinEvaluator, only, requested
from olivine.evaluators import EvalContext
from olivine.models import ModelRef

# Quantized ONNX operators whose packed weight stands for more logical parameters than it has bytes;
# their scales and zero points are quantization metadata, not parameters.
PACKED_WEIGHT_OPS = {"MatMulNBits": (1, (2, 3)), "GatherBlockQuantized": (0, (2, 3))}


class Size(BuiltinEvaluator):
    """Bytes on disk (adapter plus base for hf+adapter) and parameter count (any format)."""

    name = "size"
    accepts = ("hf", "hf+adapter", "onnx-genai", "onnx")
    sub_types = ("bytes", "parameters")
    higher_is_better = {"bytes": False, "parameters": False}

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        folders = [Path(model.path)] + ([Path(model.base_model)] if model.base_model else [])
        names = requested(self, ctx)
        values = {"bytes": float(sum(disk_bytes(f) for f in folders))}
        if "parameters" in names:
            values["parameters"] = float(sum(parameter_count(f) for f in folders))
        return only(values, names)


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts)


def parameter_count(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.rglob("*"))
    onnx_files = [f for f in files if f.suffix == ".onnx"]
    if onnx_files:
        return sum(onnx_parameters(f) for f in onnx_files)
    tensors = [f for f in files if f.suffix == ".safetensors"]
    if tensors:
        return sum(safetensors_parameters(f) for f in tensors)
    return sum(torch_parameters(f) for f in files if f.suffix in (".bin", ".pt", ".pth"))


def safetensors_parameters(file: Path) -> int:
    with open(file, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    return sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")


def torch_parameters(file: Path) -> int:
    import torch

    state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    return sum(t.numel() for t in state.values() if hasattr(t, "numel"))


def onnx_parameters(file: Path) -> int:
    import onnx

    graph = onnx.load(str(file), load_external_data=False).graph
    sizes = {init.name: math.prod(init.dims) for init in graph.initializer}
    packed = {init.name for init in graph.initializer if init.data_type == onnx.TensorProto.UINT8}
    for node in graph.node:
        if node.op_type not in PACKED_WEIGHT_OPS:
            continue
        weight_index, metadata_indexes = PACKED_WEIGHT_OPS[node.op_type]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        weight = node.input[weight_index]
        if weight in sizes:
            if node.op_type == "MatMulNBits":
                sizes[weight] = attrs["K"] * attrs["N"]
            elif weight in packed:  # uint8 storage; int4/uint4 initializers already count elements
                sizes[weight] = sizes[weight] * 8 // attrs.get("bits", 4)
        for index in metadata_indexes:
            if index < len(node.input):
                sizes.pop(node.input[index], None)
    return sum(sizes.values())
