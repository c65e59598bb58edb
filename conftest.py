"""Order for parallel runs: under pytest-xdist (scripts/test.sh), files with the most slow tests start first.

Each file runs whole on one worker (``--dist loadfile``, in collection order), so the long files (the
flagship example trains 800 steps) must not be the last ones handed out, or one worker finishes alone.
Without xdist the order is pytest's own.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    slow = Counter(file_of(item) for item in items if item.get_closest_marker("slow"))
    # A stable sort: every worker computes the same order from the same collection, as xdist requires.
    items.sort(key=lambda item: -slow[file_of(item)])
