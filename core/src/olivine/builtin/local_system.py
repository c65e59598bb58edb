"""LocalSystem: run passes and evaluations in this process."""

from __future__ import annotations

from olivine.evaluators import EvalContext, Evaluator
from olivine.models import ModelRef
from olivine.passes import Pass, PassContext
from olivine.systems import System, SystemConfig


class LocalSystem(System):
    """Run passes and evaluations in this Python process."""

    name = "LocalSystem"
    Config = SystemConfig

    def run_pass(self, pass_: Pass, model: ModelRef, ctx: PassContext) -> ModelRef:
        return pass_.run(model, ctx)

    def evaluate(self, evaluator: Evaluator, model: ModelRef, ctx: EvalContext) -> dict[str, float]:
        return evaluator.evaluate(model, ctx)
