"""'Did you mean' suggestions for misspelled names and keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Return a hint such as ``did you mean learning_rate?`` or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"did you mean {matches[0]}?" if matches else None
