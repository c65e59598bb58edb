"""Olive settings olivine accepts in the schema but does not act on: refused by name, never ignored."""

from __future__ import annotations

from olivine.config.schema import WorkflowConfig
from olivine.errors import ConfigError

SCRIPTS = "user scripts are not run by olivine; write a plugin instead (docs/plugins.md)"


def unsupported_settings(config: WorkflowConfig) -> list[ConfigError]:
    errors = []
    engine = config.engine
    if engine.plot_pareto_frontier:
        errors.append(ConfigError("engine.plot_pareto_frontier", "not supported by olivine",
                                  "run.json lists every search candidate with its metrics"))
    if engine.packaging_config is not None:
        errors.append(ConfigError("engine.packaging_config", "not supported by olivine",
                                  "the output dir's model/ folder is the deployable model"))
    if config.pass_flows:
        errors.append(ConfigError("pass_flows", "not supported by olivine",
                                  "passes run in the order written; write one workflow per flow (they share the "
                                  "cache)"))
    model = config.input_model
    if model.model_attributes:
        errors.append(ConfigError("input_model.model_attributes", "not supported by olivine",
                                  "edit the model's config.json instead"))
    if not model.generative:
        errors.append(ConfigError("input_model.generative", "olivine works on generative language models only"))
    if model.onnx_file_name and model.type not in ("ONNXModel", "OnnxModel"):
        errors.append(ConfigError("input_model.onnx_file_name", "only applies to an ONNXModel input"))
    for i, data in enumerate(config.data_configs):
        for key in ("user_script", "script_dir"):
            if getattr(data, key):
                errors.append(ConfigError(f"data_configs[{i}].{key}", SCRIPTS))
        for key in ("post_process_data_config", "dataloader_config"):
            if getattr(data, key):
                errors.append(ConfigError(f"data_configs[{i}].{key}", "not used by olivine's text-generation data",
                                          "remove it; batch sizes belong to the pass or metric user_config"))
    for name, evaluator in config.evaluators.items():
        for i, metric in enumerate(evaluator.metrics):
            path = f"evaluators.{name}.metrics[{i}]"
            if metric.backend is not None:
                errors.append(ConfigError(f"{path}.backend", "not supported by olivine",
                                          "each metric type computes its own values"))
            for j, sub in enumerate(metric.sub_types):
                if sub.metric_config:
                    errors.append(ConfigError(f"{path}.sub_types[{j}].metric_config", "not supported by olivine",
                                              "put metric options in the metric's user_config"))
    return errors
