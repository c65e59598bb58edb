"""Plugins use only olivine's public API: the top-level ``olivine`` module (and ``olivine.testing`` in tests).

Our plugins are what vendors copy. An import of a private core module here would be copied too, and break
on our next release; so would a name that ``olivine`` does not list in ``__all__``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import olivine
import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_TREES = [*sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file()),
                ROOT / "examples" / "plugin-template"]
PUBLIC_MODULES = {"olivine"}
# olivine.testing.fixtures holds pytest fixtures, which a conftest.py must import from their module.
PUBLIC_IN_TESTS = {"olivine", "olivine.testing", "olivine.testing.fixtures"}
# Files that core writes for itself; a plugin reading them depends on a private format.
CORE_PRIVATE_FILES = ("content-hashes.json",)


def python_files(tree: Path) -> list[Path]:
    return [p for p in tree.rglob("*.py") if not {"build", ".venv", "__pycache__"} & set(p.parts)]


def olivine_imports(source: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import of olivine, including code passed to ``python -c`` in strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, ()) for a in node.names if a.name.split(".")[0] == "olivine"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "olivine":
            found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "import" in node.value:
            for match in re.finditer(r"from (olivine(?:\.\w+)*) import ([\w, ]+)", node.value):
                names = (n.split(" as ")[0].strip() for n in match[2].split(","))
                found.append((node.lineno, match[1], tuple(names)))
    return found


@pytest.mark.parametrize("tree", PLUGIN_TREES, ids=lambda p: p.name)
def test_plugins_import_only_the_public_api(tree):
    problems = []
    for file in python_files(tree):
        in_tests = "tests" in file.relative_to(tree).parts
        allowed = PUBLIC_IN_TESTS if in_tests else PUBLIC_MODULES
        for line, module, names in olivine_imports(file.read_text()):
            where = f"{file.relative_to(ROOT)}:{line}"
            if module not in allowed:
                problems.append(f"{where}: imports private module {module}")
            elif module == "olivine":
                problems += [f"{where}: olivine.{n} is not public" for n in names if n not in olivine.__all__]
    assert problems == []


@pytest.mark.parametrize("tree", PLUGIN_TREES, ids=lambda p: p.name)
def test_plugins_do_not_read_cores_private_files(tree):
    readers = [f"{file.relative_to(ROOT)}: {name}" for file in python_files(tree)
               for name in CORE_PRIVATE_FILES if name in file.read_text()]
    assert readers == []


def test_every_public_name_resolves_and_is_documented():
    documented = (ROOT / "docs" / "plugins.md").read_text()
    for name in olivine.__all__:
        assert getattr(olivine, name) is not None
        assert f"`{name}`" in documented, f"docs/plugins.md does not document olivine.{name}"


def test_importing_olivine_loads_no_engine_and_no_runtime():
    """A hooks module does ``from olivine import ...``: that must stay light (``olivine passes`` is instant)."""
    import subprocess
    import sys

    code = ("import sys, olivine; heavy = ('olivine.engine', 'olivine.data', 'torch', 'transformers', 'onnxruntime'); "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
