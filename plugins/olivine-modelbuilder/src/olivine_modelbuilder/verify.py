"""Check that what was asked of the builder is in what it produced.

The builder ignores options it does not know and some it does know in some combinations; a
mismatch here means an option was silently dropped, which is reported instead of shipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class OptionNotApplied(RuntimeError):
    """The produced model does not carry an option the pass asked for."""


def quantized_nodes(model_file: Path) -> list[Any]:
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    return [node for node in graph.node if node.op_type == "MatMulNBits"]


def node_attributes(node: Any) -> dict[str, Any]:
    import onnx

    return {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}


def check_weights(model_file: Path, precision: str, options: dict[str, str]) -> dict[str, Any]:
    """MatMulNBits block size, accuracy level and bits; returns what was found for the report."""
    if precision not in ("int4", "int8") or options.get("use_qdq") == "true":
        return {}
    nodes = quantized_nodes(model_file)
    if not nodes:
        raise OptionNotApplied(f"precision {precision}: the builder produced no MatMulNBits node")
    found = [node_attributes(node) for node in nodes]
    expected = {"block_size": int(options.get("block_size", 32))}
    if "accuracy_level" in options:
        expected["accuracy_level"] = int(options["accuracy_level"])
    for key, value in expected.items():
        # A node without the attribute gives None: listed first rather than failing to sort against ints.
        seen = sorted({attrs.get(key) for attrs in found}, key=lambda v: (v is not None, v))
        if seen != [value]:
            raise OptionNotApplied(f"{key}={value} was asked for but the model's MatMulNBits nodes have {key} {seen}")
    return {"matmulnbits_nodes": len(nodes), "block_size": expected["block_size"],
            "bits": sorted({attrs.get("bits") for attrs in found})}


def check_search(genai_config: Path, search: dict[str, Any] | None) -> None:
    if not search:
        return
    written = json.loads(genai_config.read_text()).get("search", {})
    for key, value in search.items():
        if written.get(key) != value:
            raise OptionNotApplied(f"search.{key}={value!r} was asked for but genai_config.json has "
                                   f"{written.get(key)!r}")
