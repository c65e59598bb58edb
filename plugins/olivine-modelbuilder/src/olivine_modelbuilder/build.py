"""Run onnxruntime-genai's model builder in this process, with its output folded into our log."""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olivine_modelbuilder import config_fixes
from olivine_modelbuilder.capture import captured

# Lines the builder prints as it goes; each one advances the progress bar by a step.
_STEPS = re.compile(r"^(Reading (embedding layer|layer \d+|final norm|LM head)|Saving ONNX model|"
                    r"Saving GenAI config|Saving processing files)")


@dataclass
class BuildRequest:
    """Everything one builder call needs, already validated."""

    input_path: Path
    output_dir: Path
    precision: str
    provider: str
    options: dict[str, str] = field(default_factory=dict)
    search: dict[str, Any] | None = None


def step_count(request: BuildRequest) -> int:
    """Progress steps: loading the builder, then one per line the builder prints as it goes."""
    if request.options.get("config_only") == "true":
        return 3
    config = json.loads((request.input_path / "config.json").read_text())
    layers = int(request.options.get("num_hidden_layers") or config.get("num_hidden_layers") or 0)
    return layers + 7


def run_builder(request: BuildRequest, log_file: Path, logger: logging.Logger, bar) -> None:
    """Call the builder's own option parsing and ``create_model``, as its command line does."""
    with open(log_file, "a", encoding="utf-8") as log, tempfile.TemporaryDirectory(
            prefix="olivine-builder-", dir=request.output_dir.parent) as cache_dir:

        def on_line(line: str) -> None:
            log.write(line + "\n")
            logger.debug(line)
            match = _STEPS.match(line)
            if match:
                bar.update(1, step=match.group(0).removeprefix("Reading ").removeprefix("Saving "))

        with captured(on_line):
            from onnxruntime_genai.models import builder

            bar.update(1, step="builder loaded")

            pairs = [f"{key}={value}" for key, value in request.options.items()]
            args = (None, str(request.input_path), str(request.output_dir), request.precision, request.provider,
                    cache_dir)
            extra = builder.parse_extra_options(*args, pairs, search=request.search)
            for change in config_fixes.translate(extra["hf_details"]["hf_config"]):
                on_line(f"olivine: config for the builder: {change}")
            builder.create_model(*args, **extra)
    _drop_builder_leftovers(request.output_dir)


def _drop_builder_leftovers(output_dir: Path) -> None:
    # The builder may leave its scratch folders in the output; nothing in them is part of the model.
    for name in ("cache_dir", ".cache"):
        shutil.rmtree(output_dir / name, ignore_errors=True)
