"""Shared fixtures: the tiny Phi-3, tone data configs, workflows run through the CLI, greedy accuracy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# One adapter trained through the CLI serves the quality, report and reload tests (the slow part).
QUALITY_LORA = {
    "type": "LoRA",
    "train_data_config": "tone_train",
    "eval_data_config": "tone_test",
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    # The flagship example's recipe: a random-init base needs its embeddings adapted too, and clipping off.
    "target_modules": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj", "embed_tokens"],
    "training_args": {
        "seed": 0, "learning_rate": 1e-3, "lr_scheduler_type": "linear", "warmup_ratio": 0.0,
        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 4, "max_steps": 800,
        "max_grad_norm": 0, "logging_steps": 50, "evaluation_strategy": "steps", "eval_steps": 200,
        "report_to": ["tensorboard"],
    },
}


def tone_data_config(name: str = "tone_train", split: str = "train") -> dict:
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, tone_data_dir

    return {
        "name": name, "type": "HuggingfaceContainer",
        "load_dataset_config": {"data_name": "json", "data_files": str(tone_data_dir() / f"{split}.jsonl"),
                                "split": "train"},
        "pre_process_data_config": {"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                                    "max_seq_len": 64},
    }


def train_briefly(cls, folder: Path, model_path: Path, **options):
    """40 steps of ``cls`` (LoRA or QLoRA) on the tone data, evaluated at steps 0, 20 and 40, in this process:
    (adapter ModelRef, trained model, report)."""
    import logging

    from olivine import DataConfig, ModelRef, PassContext
    from olivine_lora.passes import QLoRA
    from olivine_lora.run import train_adapter

    key = cls.name.lower()
    config = cls.parse_config({
        "train_data_config": "tone_train", "eval_dataset_size": 16, "r": 8, "alpha": 16, **options,
        "training_args": {"learning_rate": 2e-3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2,
                          "max_steps": 40, "logging_steps": 10, "eval_on_start": True, "eval_steps": 20}},
        f"passes.{key}")
    ctx = PassContext(output_dir=folder, workflow_dir=folder, show_progress=False,
                      data_configs={"tone_train": DataConfig.model_validate(tone_data_config())},
                      logger=logging.getLogger(f"olivine.pass.{key}"))
    ref, model = train_adapter(config, ModelRef(format="hf", path=model_path), ctx, quantized=cls is QLoRA)
    return ref, model, ctx.report


def run_pass(config, folder: Path, model_path: Path, checkpoints: Path | None = None):
    """``run_lora`` of a parsed LoRA config on the tone data, in this process (it launches the workers of a
    distributed config itself): (adapter ModelRef or None off rank 0, report)."""
    import logging

    from olivine import DataConfig, ModelRef, PassContext
    from olivine_lora.run import run_lora

    ctx = PassContext(output_dir=folder, workflow_dir=folder, checkpoint_dir=checkpoints,
                      data_configs={"tone_train": DataConfig.model_validate(tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"), show_progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    return run_lora(config, ModelRef(format="hf", path=model_path), ctx, quantized=False), ctx.report


def write_workflow(folder: Path, passes: dict, model_path: Path, data_configs: list[dict] | None = None) -> Path:
    workflow = {
        "input_model": {"type": "HfModel", "model_path": str(model_path)},
        "data_configs": data_configs if data_configs is not None else [tone_data_config()],
        "passes": passes,
        "engine": {"cache_dir": str(folder / "cache"), "output_dir": str(folder / "out")},
    }
    path = folder / "workflow.json"
    path.write_text(json.dumps(workflow, indent=2))
    return path


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OLIVINE_LOAD_PLUGINS": "lora"}


def olivine_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "olivine", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)


@pytest.fixture(scope="session")
def kit():
    """The helpers above, for test modules (importlib import mode cannot import conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(tone_data_config=tone_data_config, write_workflow=write_workflow, cli=olivine_cli,
                           train_briefly=train_briefly, run_pass=run_pass,
                           cli_env=cli_env, greedy_accuracy=greedy_accuracy, quality_lora=QUALITY_LORA)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    from olivine.testing import tiny_phi3

    return tiny_phi3()


@pytest.fixture(scope="session")
def trained_run(tiny_model, tmp_path_factory) -> dict:
    """``olivine run`` of a one-pass LoRA workflow on the tone data: the run's folder and run.json."""
    folder = tmp_path_factory.mktemp("quality")
    workflow = write_workflow(folder, {"lora": QUALITY_LORA}, tiny_model,
                              [tone_data_config(), tone_data_config("tone_test", "test")])
    result = olivine_cli("run", "--config", str(workflow), "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((folder / "out" / "run.json").read_text())
    return {"folder": folder, "out": folder / "out", "run": run, "stdout": result.stdout, "stderr": result.stderr}


def greedy_accuracy(base: Path, adapter: Path, rows: list[dict]) -> float:
    """Share of rows whose greedy answer (the tone word, then <|end|>) is exactly the labelled tone."""
    import torch
    from olivine.testing import PROMPT_TEMPLATE
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(adapter)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).eval()
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    correct = 0
    with torch.no_grad():
        for row in rows:
            ids = tokenizer(PROMPT_TEMPLATE.format(phrase=row["phrase"]), add_special_tokens=False,
                            return_tensors="pt").input_ids
            answer = []
            for _ in range(4):
                token = int(model(input_ids=ids).logits[0, -1].argmax())
                if token == end:
                    break
                answer.append(token)
                ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            correct += tokenizer.decode(answer).strip() == row["tone"]
    return correct / len(rows)
