"""Pass: one step of a workflow, from one ModelRef to another."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from olivine.component import Component, ConfigT, StrictConfig
from olivine.models import ModelRef
from olivine.paths import resolve_path
from olivine.progress import Progress


@dataclass
class Accelerator:
    """The device and execution provider a pass or evaluation targets."""

    device: str = "cpu"
    execution_provider: str = "CPUExecutionProvider"
    # Which device of that kind: the DirectML adapter index, the CUDA device; 0 is the default one.
    device_id: int = 0


@dataclass
class ValidationContext:
    """What a pass may check before any work: paths, data configs, the target accelerator."""

    path: str
    workflow_dir: Path
    data_config_names: tuple[str, ...] = ()
    data_configs: dict[str, Any] = field(default_factory=dict)
    accelerator: Accelerator = field(default_factory=Accelerator)
    input_model: ModelRef | None = None
    # Set when a system is checked: formats of the models it will evaluate (its providers must run them).
    evaluated_formats: tuple[str, ...] = ()
    # The workflow's top-level sections that installed plugins claim (``config_sections``), as written.
    sections: dict[str, Any] = field(default_factory=dict)

    def resolve_path(self, value: str | Path) -> Path:
        return resolve_path(value, self.workflow_dir)

    def section(self, name: str) -> Any:
        """The workflow's top-level section ``name`` as written (a plugin's own, such as a cloud workspace), or None."""
        return self.sections.get(name)


@dataclass
class PassContext:
    """What a running pass gets: a fresh output folder, data configs, accelerator, logging, progress."""

    output_dir: Path
    workflow_dir: Path
    pass_key: str = ""
    # Where the pass is in the workflow (``passes.<key>``): errors raised while it runs name it.
    path: str = ""
    data_configs: dict[str, Any] = field(default_factory=dict)
    accelerator: Accelerator = field(default_factory=Accelerator)
    cache_dir: Path | None = None
    checkpoint_dir: Path | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("olivine.pass"))
    report: dict[str, Any] = field(default_factory=dict)
    show_progress: bool = True
    # ``olivine run --dry-run``: a system with ``supports_dry_run`` writes what it would submit here instead.
    dry_run: Path | None = None
    # Every consumer of the output reads it where the host writes it (``System.keeps_output_remote``): the host
    # may leave it there and return a reference (``metadata["remote"]``) instead of downloading it.
    keep_output_remote: bool = False

    def resolve_path(self, value: str | Path) -> Path:
        return resolve_path(value, self.workflow_dir)

    def data_config(self, name: str) -> Any:
        return self.data_configs[name]

    def note(self, message: str) -> None:
        """Add a line to this pass's entry in the run report (and the log)."""
        self.report.setdefault("notes", []).append(message)
        self.logger.info(message)

    def progress(self, total: int | None, description: str) -> Progress:
        return Progress(total, description, enabled=self.show_progress, logger=self.logger)


class Pass(Component[ConfigT]):
    """Base of every pass. Subclasses set ``name``, ``accepts``, ``produces``, ``Config``, ``run``."""

    accepts: ClassVar[tuple[str, ...]] = ("hf",)
    produces: ClassVar[str] = "hf"
    Config: ClassVar[type[StrictConfig]] = StrictConfig

    def __init__(self, config: ConfigT | None = None):
        self.config = self._default_config(config)

    def validate(self, ctx: ValidationContext) -> None:
        """Check what can be checked before any work; raise ConfigError naming ``ctx.path`` keys."""

    def output_format(self, input_format: str) -> str:
        """Format this pass produces from ``input_format`` (override when it depends on config)."""
        return self.produces

    def cache_config(self) -> dict[str, Any]:
        """The config as it keys this pass's output in the cache: configs that mean the same give equal dicts.

        The validated config already has defaults filled in and Olive's option names mapped to field
        names; override when a field keeps the user's own spelling (old TrainingArguments names).
        """
        return self.config.model_dump(mode="json")

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        raise NotImplementedError(f"{type(self).__name__}.run")
