"""Every relative link in README.md and docs/ points at a file or folder that exists, and at a heading of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code, where a link is a link."""
    return re.sub(r"`[^`\n]*`", "", prose_keeping_code(text))


def relative_links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [target for target in targets if not EXTERNAL.match(target)]


def anchors(page: Path) -> Iterator[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as dashes, repeats numbered."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose_keeping_code(page.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def prose_keeping_code(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = page.parent / path.split("?", 1)[0] if path else page
        if not file.exists():
            broken.append(f"{_shown(page)}: {target}")
        elif anchor and file.suffix == ".md" and anchor not in set(anchors(file)):
            broken.append(f"{_shown(page)}: {target} (no such heading)")
    return broken


def _shown(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name


def test_every_relative_link_resolves():
    broken = [link for page in markdown_pages() for link in broken_links(page)]

    assert broken == []


def test_the_link_check_sees_links_and_ignores_code(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# there\n")
    page.write_text("\n".join([
        "# Local `heading`",
        "[ok](there.md#there) [gone](missing.md) ![img](missing.png \"title\") [bad](there.md#nowhere)",
        "[web](https://example.com) [anchor](#local-heading) [mail](mailto:a@b.c)",
        "`[code](not-a-link.md)`",
        "```",
        "[fenced](not-a-link-either.md)",
        "```",
        "[ref]: also-missing.md",
    ]))

    assert relative_links(page) == ["there.md#there", "missing.md", "missing.png", "there.md#nowhere",
                                    "#local-heading", "also-missing.md"]
    assert [link.split(": ", 1)[1] for link in broken_links(page)] == [
        "missing.md", "missing.png", "there.md#nowhere (no such heading)", "also-missing.md"]
