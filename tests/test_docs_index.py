"""docs/index.md links every page of the documentation."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_doc_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text()
    linked = {(DOCS / target).resolve() for target in re.findall(r"\]\(([^)#]+)", index)}
    pages = {page.resolve() for page in DOCS.rglob("*.md") if page.name != "index.md"}
    folders_linked = {p for p in linked if p.is_dir()}

    unlinked = [p for p in pages if p not in linked and not any(f in p.parents for f in folders_linked)]

    assert sorted(str(p.relative_to(DOCS.resolve())) for p in unlinked) == []
