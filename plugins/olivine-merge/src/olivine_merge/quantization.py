"""Whether an adapter was trained against a bitsandbytes-quantized base (QLoRA), and how it was quantized.

Three places say so, checked in this order: the ModelRef metadata the QLoRA pass records
(``{"quantization": {"quant_type": "nf4", "double_quant": true, "compute_dtype": "bfloat16"}}``),
the same record in the adapter folder's quantization.json (written by the QLoRA pass, so an adapter
folder given as the workflow's input model still says how it was trained), and a bitsandbytes
``quantization_config`` in the base checkpoint's config.json (a pre-quantized base).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olivine import ModelRef


@dataclass(frozen=True)
class QuantSpec:
    """How the base was quantized while the adapter trained."""

    bits: int
    quant_type: str | None
    double_quant: bool
    compute_dtype: str | None
    source: str
    prequantized: bool = False

    def describe(self) -> str:
        if self.bits == 8:
            return "8-bit (bitsandbytes)"
        return f"{self.quant_type or 'nf4'}{' with double quantization' if self.double_quant else ''} 4-bit"


def find_quantization(model: ModelRef) -> QuantSpec | None:
    recorded = model.metadata.get("quantization")
    if isinstance(recorded, dict):
        return _from_record(recorded, "the QLoRA pass's record")
    saved = _read_json(Path(model.path) / "quantization.json")
    if saved:
        return _from_record(saved, "the adapter's quantization.json")
    if model.base_model is not None:
        base_config = _read_json(Path(model.base_model) / "config.json").get("quantization_config")
        if isinstance(base_config, dict) and base_config.get("quant_method") == "bitsandbytes":
            return _from_checkpoint(base_config)
    return None


def _from_record(record: dict[str, Any], source: str) -> QuantSpec:
    bits = int(record.get("bits", 8 if record.get("load_in_8bit") else 4))
    return QuantSpec(bits=bits, quant_type=record.get("quant_type", record.get("bnb_4bit_quant_type", "nf4")),
                     double_quant=bool(record.get("double_quant", record.get("bnb_4bit_use_double_quant", False))),
                     compute_dtype=_dtype_name(record.get("compute_dtype", record.get("bnb_4bit_compute_dtype"))),
                     source=source)


def _from_checkpoint(config: dict[str, Any]) -> QuantSpec:
    bits = 8 if config.get("load_in_8bit") else 4
    return QuantSpec(bits=bits, quant_type=config.get("bnb_4bit_quant_type"),
                     double_quant=bool(config.get("bnb_4bit_use_double_quant")),
                     compute_dtype=_dtype_name(config.get("bnb_4bit_compute_dtype")),
                     source="the base checkpoint's config.json", prequantized=True)


def _dtype_name(value: Any) -> str | None:
    return str(value).removeprefix("torch.") if value else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
