"""Helpers for plugin tests that act as a user would: the real CLI in a subprocess, skips with a reason."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_olivine(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m olivine ARGS`` in a subprocess of this interpreter, output captured as text."""
    return subprocess.run([sys.executable, "-m", "olivine", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def write_workflow(folder: Path, config: dict[str, Any], name: str = "workflow.json") -> Path:
    """Write ``config`` as a workflow file in ``folder``; returns its path."""
    path = folder / name
    path.write_text(json.dumps(config, indent=2))
    return path


def missing_distributions(*names: str) -> list[str]:
    """Those of ``names`` that are not installed, for ``pytest.mark.skipif(..., reason=...)``."""
    missing = []
    for name in names:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def needs_distributions(*names: str) -> Any:
    """A pytest mark that skips, with the reason, a test that needs every one of ``names`` installed."""
    import pytest

    missing = missing_distributions(*names)
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


def run_olivine_here(argv: list[str]) -> None:
    """The CLI in this process, exactly as ``olivine ARGV`` runs it (SystemExit on exit status), for tests
    that patch something in-process (a cloud client, a credential)."""
    from olivine.cli import main

    main(argv)
