"""The DirectML system: passes in this process, evaluations on a DirectX 12 GPU (onnxruntime-directml)."""

from __future__ import annotations

from dataclasses import replace

from olivine import (
    Accelerator,
    AcceleratorConfig,
    ConfigError,
    EvalContext,
    Evaluator,
    ModelRef,
    Pass,
    PassContext,
    System,
    SystemConfig,
    ValidationContext,
)
from pydantic import Field, field_validator

from olivine_directml import availability
from olivine_directml.availability import CPU, DML

DEVICE_PROVIDERS = {"gpu": DML, "cpu": CPU}


class DirectMLConfig(SystemConfig):
    accelerators: list[AcceleratorConfig] = Field(
        default_factory=lambda: [AcceleratorConfig(device="gpu", execution_providers=[DML])],
        description="gpu (DmlExecutionProvider) or cpu (CPUExecutionProvider)")
    device_id: int = Field(0, ge=0, description="DirectX adapter index: 0 is the default GPU, as "
                                                "IDXGIFactory::EnumAdapters orders them")
    fallback_to_cpu: bool = Field(False, description="Where DirectML is not available, evaluate on CPU (the "
                                                     "model's DirectML provider cleared) instead of refusing")

    @field_validator("accelerators")
    @classmethod
    def _directml_providers(cls, value: list[AcceleratorConfig]) -> list[AcceleratorConfig]:
        checked = []
        for accelerator in value:
            if accelerator.device not in DEVICE_PROVIDERS:
                raise ValueError(f"DirectML has devices gpu and cpu, not {accelerator.device!r}")
            wrong = [p for p in accelerator.execution_providers if p not in (DML, CPU)]
            if wrong:
                raise ValueError(f"DirectML runs {DML} and {CPU}, not {', '.join(wrong)} "
                                 "(use LocalSystem or PythonEnvironment for other providers)")
            providers = accelerator.execution_providers or [DEVICE_PROVIDERS[accelerator.device]]
            checked.append(accelerator.model_copy(update={"execution_providers": providers}))
        return checked


class DirectML(System[DirectMLConfig]):
    """A Windows DirectX 12 GPU through onnxruntime-directml; passes run in this process."""

    name = "DirectML"
    Config = DirectMLConfig

    def accelerator(self, requested_providers: list[str] | None = None) -> Accelerator:
        return replace(super().accelerator(requested_providers), device_id=self.config.device_id)

    def check(self, ctx: ValidationContext) -> None:
        """Refuse before any work where DirectML cannot run, unless fallback_to_cpu says what to do."""
        reason = availability.unavailable(ctx.evaluated_formats)
        if reason is None:
            return
        if not self.config.fallback_to_cpu:
            raise ConfigError(f"systems.{self.key}", reason, availability.how_to_fix(ctx.evaluated_formats))
        problem = availability.cpu_problem(ctx.evaluated_formats)
        if problem is not None:
            raise ConfigError(f"systems.{self.key}.fallback_to_cpu", f"cannot evaluate on CPU either: "
                              f"{problem.message}", problem.hint)

    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        # Passes build for DirectML (ModelBuilder reads ctx.accelerator); building needs no GPU.
        return pass_.run(model, ctx)

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        if ctx.accelerator.execution_provider == DML and model.format in ("onnx", "onnx-genai"):
            reason = availability.unavailable([model.format])
            if reason is not None:
                ctx = self._fall_back(ctx, reason, model.format)
        return evaluator.evaluate(model, ctx)

    def _fall_back(self, ctx: EvalContext, reason: str, fmt: str) -> EvalContext:
        if not self.config.fallback_to_cpu:
            # Validation refuses this workflow; this guards direct API use.
            raise ConfigError(f"systems.{self.key}", reason, availability.how_to_fix([fmt]))
        # The CPU accelerator makes the evaluator clear the providers genai_config.json names.
        ctx.accelerator = Accelerator(device="cpu", execution_provider=CPU)
        ctx.note(f"{ctx.metric.name}: evaluated on CPU because fallback_to_cpu is set ({reason})")
        return ctx
