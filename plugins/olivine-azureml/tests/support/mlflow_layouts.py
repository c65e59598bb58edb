"""MLflow model folders as AzureML's catalog (hftransformersv2) and MLflow's transformers flavor write them."""

from __future__ import annotations

import shutil
from pathlib import Path

HFTRANSFORMERS_MLMODEL = """\
flavors:
  hftransformersv2:
    hf_config_class: AutoConfig
    hf_pretrained_class: AutoModelForCausalLM
    hf_tokenizer_class: AutoTokenizer
    model_data: data
    task_type: text-generation
  python_function:
    data: data
    env:
      conda: conda.yaml
    loader_module: azureml.evaluate.mlflow.hftransformers
mlflow_version: 2.10.2
"""
TRANSFORMERS_MLMODEL = """\
flavors:
  transformers:
    components: [tokenizer]
    framework: pt
    model_binary: model
    pipeline_model_type: Phi3ForCausalLM
    task: text-generation
mlflow_version: 2.12.1
"""
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
CONFIG_FILES = ("config.json", "generation_config.json")


def write_mlflow(tiny_model: Path, root: Path, flavor: str) -> Path:
    """The layouts AzureML's catalog (hftransformersv2) and MLflow's transformers flavor write."""
    root.mkdir(parents=True)
    (root / "conda.yaml").write_text("dependencies: [python=3.9, {pip: [mlflow, transformers]}]\n")
    (root / "requirements.txt").write_text("mlflow\ntransformers\n")
    if flavor == "hftransformersv2":
        (root / "MLmodel").write_text(HFTRANSFORMERS_MLMODEL)
        parts = {"data/config": CONFIG_FILES, "data/tokenizer": TOKENIZER_FILES,
                 "data/model": ("model.safetensors", *CONFIG_FILES)}
    else:
        (root / "MLmodel").write_text(TRANSFORMERS_MLMODEL)
        parts = {"model": ("model.safetensors", *CONFIG_FILES), "components/tokenizer": TOKENIZER_FILES}
    for folder, names in parts.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy2(tiny_model / name, root / folder / name)
    return root
