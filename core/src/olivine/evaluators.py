"""Evaluator: computes one metric type (accuracy, latency, ...) on a ModelRef."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from olivine.component import Component, ConfigT, StrictConfig
from olivine.models import ModelRef
from olivine.passes import Accelerator, ValidationContext
from olivine.paths import resolve_path
from olivine.progress import Progress


@dataclass
class EvalContext:
    """What an evaluation gets: its metric entry, data configs, accelerator, logging."""

    metric: Any
    workflow_dir: Path
    # Where the metric is in the workflow (``evaluators.<name>.metrics[<i>]``): errors name it.
    path: str = ""
    data_configs: dict[str, Any] = field(default_factory=dict)
    accelerator: Accelerator = field(default_factory=Accelerator)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("olivine.evaluate"))
    report: dict[str, Any] = field(default_factory=dict)
    show_progress: bool = True
    # ``olivine run --dry-run``: a system with ``supports_dry_run`` writes what it would submit here instead.
    dry_run: Path | None = None

    def resolve_path(self, value: str | Path) -> Path:
        return resolve_path(value, self.workflow_dir)

    def progress(self, total: int | None, description: str) -> Progress:
        return Progress(total, description, enabled=self.show_progress, logger=self.logger)

    def note(self, message: str) -> None:
        self.report.setdefault("notes", []).append(message)
        self.logger.info(message)


class Evaluator(Component[ConfigT]):
    """Base of every metric type. ``Config`` is the metric's ``user_config``."""

    accepts: ClassVar[tuple[str, ...]] = ("hf", "hf+adapter", "onnx-genai")
    sub_types: ClassVar[tuple[str, ...]] = ()
    # Direction per sub type, used by goals and search ranking when the metric entry does not say.
    higher_is_better: ClassVar[dict[str, bool]] = {}
    Config: ClassVar[type[StrictConfig]] = StrictConfig

    def __init__(self, config: ConfigT | None = None):
        self.config = self._default_config(config)

    @classmethod
    def accepts_format(cls, model_format: str) -> bool:
        """Whether this metric type evaluates ``model_format`` models (default: ``accepts`` lists it)."""
        return model_format in cls.accepts

    def cache_inputs(self, workflow_dir: Path) -> list[Path]:
        """Files or folders, besides the model and the data config, whose content the result depends on
        (task definitions, reference answers): the cached result is keyed by their content too."""
        return []

    def validate(self, ctx: ValidationContext) -> None:
        """Check the metric's options before any work."""

    def validate_metric(self, metric: Any, ctx: ValidationContext) -> None:
        """Check what needs the metric entry itself (its data config) before any work."""

    def evaluate(self, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        """Return one value per requested sub type name."""
        raise NotImplementedError
