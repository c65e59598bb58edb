"""docs/config.md shows the cookbook workflow in both schemas; they must stay the same workflow."""

from __future__ import annotations

import json
import re
from pathlib import Path

from core_helpers import olivine_cli
from olivine.config.loader import load_workflow

CONFIG_DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def doc_example(label: str) -> str:
    match = re.search(rf"<!-- example: {label} -->\n```json\n(.*?)```", CONFIG_DOC.read_text(), re.S)
    assert match, f"docs/config.md lost its '{label}' example"
    return match.group(1)


def test_the_old_and_current_examples_load_into_the_same_workflow(tmp_path):
    (tmp_path / "old.json").write_text(doc_example("old"))
    (tmp_path / "current.json").write_text(doc_example("current"))

    old = load_workflow(tmp_path / "old.json")
    current = load_workflow(tmp_path / "current.json")

    assert old.config.model_dump() == current.config.model_dump()
    assert old.migration.changed and not current.migration.changed


def test_migrate_prints_the_current_example_and_the_documented_notes(tmp_path):
    (tmp_path / "phrase-classification.json").write_text(doc_example("old"))

    result = olivine_cli("config", "migrate", str(tmp_path / "phrase-classification.json"))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(doc_example("current"))
    documented = re.search(r"and on stderr:\n\n```\n(.*?)```", CONFIG_DOC.read_text(), re.S).group(1)
    assert [line for line in result.stderr.splitlines() if line.startswith("migrated: ")] == documented.splitlines()
