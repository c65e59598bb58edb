"""Model architectures the installed onnxruntime-genai builder can build, read from the builder itself.

The builder dispatches on ``config.architectures[0]`` with a chain of ``==`` tests and raises
``NotImplementedError`` for anything else, after the model is loaded. Reading that chain from its
source (parsed, not imported: importing it loads torch and transformers) gives the list at
validation time and keeps it current with whatever builder version is installed.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def supported() -> frozenset[str]:
    """Architecture names the builder's dispatch tests for; empty when onnxruntime-genai is not installed."""
    source = _builder_source()
    if source is None:
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and _is_architecture(node.left):
            names.update(c.value for c in node.comparators if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return frozenset(names)


def _is_architecture(node: ast.AST) -> bool:
    # config.architectures[0]
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "architectures")


def _builder_source() -> Path | None:
    spec = importlib.util.find_spec("onnxruntime_genai")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / "builder.py"
        if path.is_file():
            return path
    return None


def architecture(folder: Path) -> str | None:
    """``architectures[0]`` of a Hugging Face folder's config.json, or None when it cannot be read."""
    try:
        names = json.loads((Path(folder) / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        return None
    return names[0] if names else None
