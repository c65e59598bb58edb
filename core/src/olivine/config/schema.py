"""The workflow config in its normalized (Olive current) form. Plugin-owned parts stay raw dicts
here and are validated by their plugin's Config in ``validate.py``."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from olivine.component import StrictConfig

ENGINE_FIELDS = (
    "host", "target", "search_strategy", "evaluator", "evaluate_input_model", "cache_dir",
    "output_dir", "log_severity_level", "execution_providers", "clean_cache", "workflow_id",
    "plot_pareto_frontier", "packaging_config",
)


class InputModelConfig(StrictConfig):
    """``input_model``: a Hugging Face model (``HfModel``) or an ONNX model (``ONNXModel``)."""

    type: str = "HfModel"
    model_path: str | dict[str, Any]
    task: str = "text-generation"
    adapter_path: str | None = None
    load_kwargs: dict[str, Any] = Field(default_factory=dict)
    model_attributes: dict[str, Any] = Field(default_factory=dict)
    model_file_format: str | None = None
    onnx_file_name: str | None = None
    generative: bool = True

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from olivine.inputs import HF_TYPES, ONNX_TYPES
        from olivine.suggest import did_you_mean

        if value not in HF_TYPES + ONNX_TYPES:
            hint = did_you_mean(value, ("HfModel", "ONNXModel")) or "known: HfModel, ONNXModel"
            raise ValueError(f"unknown input model type ({hint})")
        return value


class DataConfig(StrictConfig):
    """One entry of ``data_configs``; its parameters are checked by the data container."""

    name: str
    type: str = "HuggingfaceContainer"
    user_script: str | None = None
    script_dir: str | None = None
    load_dataset_config: dict[str, Any] = Field(default_factory=dict)
    pre_process_data_config: dict[str, Any] = Field(default_factory=dict)
    post_process_data_config: dict[str, Any] = Field(default_factory=dict)
    dataloader_config: dict[str, Any] = Field(default_factory=dict)


class GoalConfig(StrictConfig):
    type: str
    value: float


class SubMetricConfig(StrictConfig):
    name: str
    priority: int = -1
    higher_is_better: bool | None = None
    goal: GoalConfig | None = None
    metric_config: dict[str, Any] = Field(default_factory=dict)


class MetricConfig(StrictConfig):
    """One metric: Olive's ``{"name", "type", "sub_types", "data_config", "user_config"}``."""

    name: str
    type: str
    sub_types: list[SubMetricConfig] = Field(default_factory=list)
    data_config: str | dict[str, Any] | None = None
    user_config: dict[str, Any] = Field(default_factory=dict)
    backend: str | None = None


class EvaluatorConfig(StrictConfig):
    metrics: list[MetricConfig] = Field(default_factory=list)


class SearchStrategyConfig(StrictConfig):
    execution_order: str = "joint"
    sampler: str = "sequential"
    max_samples: int | None = None
    seed: int = 0
    output_model_num: int | None = None
    max_iter: int | None = None
    max_time: float | None = None
    stop_when_goals_met: bool = False

    @field_validator("execution_order")
    @classmethod
    def _known_order(cls, value: str) -> str:
        if value not in ("joint", "pass-by-pass"):
            raise ValueError("must be 'joint' or 'pass-by-pass'")
        return value

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        if value not in ("sequential", "random", "tpe"):
            raise ValueError("must be 'sequential', 'random' or 'tpe'")
        return value


class EngineConfig(StrictConfig):
    host: str | None = None
    target: str | None = None
    search_strategy: SearchStrategyConfig | bool | None = None
    evaluator: str | None = None
    evaluate_input_model: bool = True
    cache_dir: str = ".olivine-cache"
    output_dir: str = "olivine-output"
    log_severity_level: int = 1
    execution_providers: list[str] | None = None
    clean_cache: bool = False
    workflow_id: str | None = None
    plot_pareto_frontier: bool = False
    packaging_config: Any = None

    @field_validator("log_severity_level")
    @classmethod
    def _level_range(cls, value: int) -> int:
        if not 0 <= value <= 4:
            raise ValueError("must be 0 (verbose) to 4 (fatal)")
        return value


class PassEntry(StrictConfig):
    """A pass in ``passes``: its ``type`` plus its own config keys, kept for the pass to validate."""

    model_config = {**StrictConfig.model_config, "extra": "allow"}

    type: str
    host: str | None = None
    evaluator: str | None = None
    disable_search: bool = False

    def pass_config(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SystemEntry(StrictConfig):
    model_config = {**StrictConfig.model_config, "extra": "allow"}

    type: str

    def system_config(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class WorkflowConfig(StrictConfig):
    """A whole workflow, normalized.

    Other top-level keys are plugins' own sections (a cloud workspace's settings): kept as written, and checked
    against the sections installed plugins claim when the workflow is planned.
    """

    model_config = {**StrictConfig.model_config, "extra": "allow"}

    input_model: InputModelConfig
    systems: dict[str, SystemEntry] = Field(default_factory=dict)
    data_configs: list[DataConfig] = Field(default_factory=list)
    evaluators: dict[str, EvaluatorConfig] = Field(default_factory=dict)
    passes: dict[str, PassEntry] = Field(default_factory=dict)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    pass_flows: list[list[str]] | None = None  # Olive's; refused by name (config.unsupported)

    def data_config(self, name: str) -> DataConfig | None:
        return next((d for d in self.data_configs if d.name == name), None)

    def sections(self) -> dict[str, Any]:
        """Top-level keys beyond olivine's own: plugins' sections, as written."""
        return dict(self.model_extra or {})
