"""System: where a pass runs and where a model is evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import Field, field_validator

from olivine.component import Component, StrictConfig
from olivine.models import ModelRef
from olivine.passes import Accelerator, Pass, PassContext, ValidationContext

if TYPE_CHECKING:
    from olivine.evaluators import EvalContext, Evaluator
    from olivine.resources import Resource

DEVICE_DEFAULT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "gpu": ["CUDAExecutionProvider"],
    "npu": ["QNNExecutionProvider"],
}


class AcceleratorConfig(StrictConfig):
    """One accelerator of a system: ``{"device": "gpu", "execution_providers": [...]}``."""

    device: str = Field("cpu", description="cpu, gpu or npu (Olive's device names).")
    execution_providers: list[str] = Field(
        default_factory=list, description="onnxruntime provider names in order of preference; empty: the "
                                          "device's default (CPUExecutionProvider, CUDAExecutionProvider, "
                                          "QNNExecutionProvider).")

    def providers(self) -> list[str]:
        return self.execution_providers or DEVICE_DEFAULT_PROVIDERS.get(self.device, ["CPUExecutionProvider"])


class SystemConfig(StrictConfig):
    """Fields every system has; Olive writes accelerators as ``["cpu"]`` or as objects."""

    accelerators: list[AcceleratorConfig] = Field(
        default_factory=lambda: [AcceleratorConfig()],
        description='Devices of this system, as ["cpu"] or [{"device": "gpu", "execution_providers": [...]}]; '
                    "passes and evaluations use the first one.")

    @field_validator("accelerators", mode="before")
    @classmethod
    def _accept_device_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"device": item} if isinstance(item, str) else item for item in value]
        return value


SystemConfigT = TypeVar("SystemConfigT", bound=SystemConfig)


class System(Component[SystemConfigT]):
    """Base of every system. Subclasses implement ``run_pass`` and ``evaluate``."""

    Config: ClassVar[type[StrictConfig]] = SystemConfig
    # True when run_pass/evaluate honour ``ctx.dry_run`` (describe the work, do none of it).
    supports_dry_run: ClassVar[bool] = False

    def __init__(self, config: SystemConfigT | None = None, key: str = ""):
        self.config = self._default_config(config)
        self.key = key or self.name

    def check(self, ctx: ValidationContext) -> None:
        """Raise ConfigError when this system cannot run here (platform, packages)."""

    def accelerator(self, requested_providers: list[str] | None = None) -> Accelerator:
        """The accelerator passes target: the first configured one, or the engine's EP list."""
        first = self.config.accelerators[0] if self.config.accelerators else AcceleratorConfig()
        providers = requested_providers or first.providers()
        return Accelerator(device=first.device, execution_provider=providers[0])

    def remote_input(self, resource: Resource) -> dict[str, Any] | None:
        """How this system's jobs read ``resource`` where it is (``{"uri": ..., "type": ...}``), so the engine
        does not fetch it to this machine; None (the default): the engine fetches it first."""
        return None

    def keeps_output_remote(self, consumers: list[System]) -> bool:
        """True when a pass output made here may stay where this system wrote it, because every system in
        ``consumers`` (later passes' hosts, the evaluation target) reads it there; the pass then gets
        ``ctx.keep_output_remote``. False (the default): outputs come to this machine."""
        return False

    def remote_output_exists(self, model: ModelRef) -> bool:
        """Whether an output this system left remote (``model.metadata["remote"]``) is still there; a cache
        entry pointing at a gone output is re-run. False (the default): this system cannot tell."""
        return False

    def fetch_output(self, model: ModelRef, dest: Path) -> None:
        """Download a remote-kept output (``model.metadata["remote"]``) to ``dest``, the local path its model
        takes inside its cache entry (a file or a folder, as the remote one)."""
        raise NotImplementedError(f"system {self.key} cannot download outputs it left remote")

    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        raise NotImplementedError

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        raise NotImplementedError
