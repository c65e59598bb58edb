"""Helpers for core tests: run the CLI like a user, write workflow files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pydantic
from olivine.testing import needs_distributions  # noqa: F401  (re-exported for core tests)


def olivine_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "olivine", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def write_workflow(folder: Path, config: dict, name: str = "workflow.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(config, indent=2))
    return path


def touch_workflow(model: Path, labels=("a", "b", "c"), **engine) -> dict:
    return {
        "input_model": {"type": "HfModel", "model_path": str(model)},
        "passes": {label: {"type": "Touch", "label": label} for label in labels},
        "engine": {"cache_dir": "cache", "output_dir": "out", **engine},
    }


def pydantic_says(annotation: Any, value: Any) -> str:
    """pydantic's own message for ``value`` as ``annotation``: tests compare our framing, never its wording."""
    try:
        pydantic.TypeAdapter(annotation).validate_python(value)
    except pydantic.ValidationError as error:
        return error.errors()[0]["msg"]
    raise AssertionError(f"{value!r} is a valid {annotation}")


def run_labels(log: Path) -> list[str]:
    """The labels the test passes logged as they ran (OLIVINE_TEST_RUN_LOG), in order."""
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(predicate, timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; an AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")
