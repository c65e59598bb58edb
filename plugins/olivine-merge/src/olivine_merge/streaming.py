"""Write a safetensors file one tensor at a time, so a merge holds one tensor in memory, not a shard.

The format is an 8-byte little-endian header length, a JSON header (dtype, shape and byte range of
each tensor, space-padded to 8 bytes), then the tensors' bytes back to back. Every shape and dtype
is known before any tensor is computed, so the header goes first and each tensor is written and
dropped in turn.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_DTYPES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32",
    "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
}
_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
          "F8_E4M3": 1, "F8_E5M2": 1}


def safetensors_dtype(torch_dtype) -> str:
    return _DTYPES[str(torch_dtype).removeprefix("torch.")]


def write(path: Path, entries: Iterable[tuple[str, str, list[int]]], tensor: Callable[[str], torch.Tensor],
          metadata: dict[str, str] | None = None) -> int:
    """``entries``: (name, safetensors dtype, shape) in file order; ``tensor(name)`` computes one tensor.

    Returns the number of tensor bytes written.
    """
    import torch

    entries = list(entries)
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, dtype, shape in entries:
        size = _SIZES[dtype]
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for name, dtype, shape in entries:
            value = tensor(name).contiguous()
            if safetensors_dtype(value.dtype) != dtype or list(value.shape) != list(shape):
                raise ValueError(f"{name}: computed {value.dtype} {list(value.shape)}, header says {dtype} {shape}")
            handle.write(value.reshape(-1).view(torch.uint8).numpy().data)
    return offset

