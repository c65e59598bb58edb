"""LocalSystem: run passes and evaluations in this process."""

from __future__ import annotations

from collections.abc import Callable

from olivine.errors import ConfigError, ConfigErrors
from olivine.evaluators import EvalContext, Evaluator
from olivine.models import ModelRef
from olivine.passes import Pass, PassContext, ValidationContext
from olivine.systems import System, SystemConfig


class LocalSystem(System):
    """Run passes and evaluations in this Python process."""

    name = "LocalSystem"
    Config = SystemConfig

    def check(self, ctx: ValidationContext) -> None:
        """Every execution provider asked for must run here when this system evaluates ONNX models.

        Building for a provider (an export for dml on Linux) needs nothing of it, so a system
        that only hosts passes is not checked.
        """
        check_execution_providers(self, ctx)

    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        return pass_.run(model, ctx)

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        return evaluator.evaluate(model, ctx)


def check_execution_providers(system: System, ctx: ValidationContext,
                              ask: Callable[[list[list[str]]], list[dict | None]] | None = None) -> None:
    """Raise ConfigErrors naming each configured provider that cannot run the evaluated formats.

    The runtime registered for each format (``register_runtimes``) answers; ``ask`` puts the questions
    to the system's own environment (another interpreter for PythonEnvironment), by default this one's.
    """
    from olivine.plugins import get_plugins
    from olivine.runtimes import provider_problems

    runtimes = get_plugins().runtimes
    formats = [f for f in dict.fromkeys(ctx.evaluated_formats) if f in runtimes]
    if not formats:
        return
    requests, paths = [], []
    for i, accelerator in enumerate(system.config.accelerators):
        base = f"systems.{system.key}.accelerators[{i}]"
        for j, provider in enumerate(accelerator.providers()):
            # A provider the device implies (no list given) is reported at the device key.
            path = f"{base}.execution_providers[{j}]" if accelerator.execution_providers else f"{base}.device"
            for model_format in formats:
                requests.append([provider, model_format])
                paths.append(path)
    answers = (ask or provider_problems)(requests)
    errors: dict[str, ConfigError] = {}
    for path, answer in zip(paths, answers, strict=True):
        if answer is not None and path not in errors:
            errors[path] = ConfigError(path, str(answer["message"]), answer.get("hint"))
    if errors:
        raise ConfigErrors(list(errors.values()))
