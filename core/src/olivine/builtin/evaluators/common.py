"""What the built-in metric types share: sub type selection, the metric's data config, runtime options."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from olivine.component import StrictConfig
from olivine.errors import ConfigError
from olivine.evaluators import EvalContext, Evaluator
from olivine.passes import ValidationContext


class RuntimeOptions(StrictConfig):
    """How a model is loaded for evaluation."""

    torch_dtype: str | None = Field(None, description="hf models: float32, bfloat16, ... (default: float32 on "
                                    "CPU, the checkpoint's dtype on GPU)")
    clear_providers: bool = Field(False, description="onnx-genai models: run on CPU whatever provider the model "
                                  "folder names (e.g. evaluate a DirectML-built model on a machine without DirectML)")

    def runtime_options(self) -> dict[str, Any]:
        return {"torch_dtype": self.torch_dtype, "clear_providers": self.clear_providers}


class BuiltinEvaluator(Evaluator):
    """A built-in metric type: knows which direction is better per sub type and whether it needs data."""

    needs_data: ClassVar[bool] = False


class RuntimeEvaluator(BuiltinEvaluator):
    """A metric type that runs the model: any format an installed plugin registers a runtime for."""

    @classmethod
    def accepts_format(cls, model_format: str) -> bool:
        from olivine.plugins import get_plugins

        return model_format in get_plugins().runtimes

    def validate_metric(self, metric: Any, ctx: ValidationContext) -> None:
        """Checks that need the metric entry itself (its data config), run at plan time."""
        if not self.needs_data:
            return
        if metric.data_config is None:
            raise ConfigError(f"{ctx.path}.data_config", f"{self.name} needs a data config",
                              f"data configs defined: {', '.join(ctx.data_config_names) or 'none'}")
        if isinstance(metric.data_config, dict):
            raise ConfigError(f"{ctx.path}.data_config", "give the name of an entry of data_configs",
                              "inline data configs are not supported")


def requested(evaluator: Evaluator, ctx: EvalContext) -> list[str]:
    names = [sub.name for sub in ctx.metric.sub_types]
    return names or list(evaluator.sub_types)


def data_config(ctx: EvalContext) -> Any:
    return ctx.data_configs[ctx.metric.data_config]


def only(values: dict[str, float], names: list[str]) -> dict[str, float]:
    return {name: values[name] for name in names}
