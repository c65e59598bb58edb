"""The flagship example as a user runs it: examples/phi3-emotion through the `olivine` CLI.

A real tiny Phi-3 is fine-tuned with LoRA (the example's 800 steps), merged, exported to int4 ONNX and
evaluated at every stage (PyTorch, then onnxruntime-genai); predict.py then asks the int4 model about
held-out phrases. The cookbook-schema config runs as is; the QLoRA and GPU variants are checked as far
as this machine allows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "phi3-emotion"
FILES = ("workflow.json", "olive-config.json", "qlora.json", "phi3-mini-cuda.json", "predict.py")
TONES = {"sadness", "joy", "fear", "surprise"}


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, env=env,
                          timeout=900)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """A copy of the example folder with the tiny Phi-3 where the configs expect it (models/tiny-phi3)."""
    from olivine.testing import tiny_phi3

    folder = tmp_path_factory.mktemp("phi3-emotion")
    shutil.copytree(EXAMPLE / "data", folder / "data")
    for name in FILES:
        shutil.copy2(EXAMPLE / name, folder / name)
    shutil.copytree(tiny_phi3(), folder / "models" / "tiny-phi3")
    return folder


@pytest.fixture(scope="module")
def current_run(example) -> subprocess.CompletedProcess:
    return run(example, "-m", "olivine", "run", "--config", "workflow.json", "--no-progress")


def stages(report_file: Path) -> dict[str, dict]:
    return {stage["name"]: stage for stage in json.loads(report_file.read_text())["stages"]}


def accuracy(stage: dict) -> float:
    return stage["metrics"]["accuracy"]["accuracy_score"]


@pytest.mark.slow
def test_workflow_fine_tunes_merges_and_exports_an_int4_model_meeting_the_goal(example, current_run):
    assert current_run.returncode == 0, current_run.stderr[-3000:]
    report = stages(example / "out" / "run.json")
    assert list(report) == ["input_model", "lora", "merge", "builder"]
    assert [report[name]["format"] for name in report] == ["hf", "hf+adapter", "hf", "onnx-genai"]
    assert accuracy(report["input_model"]) < 0.5
    for name in ("lora", "merge", "builder"):
        assert accuracy(report[name]) >= 0.9, name
    assert accuracy(report["merge"]) == accuracy(report["lora"])  # merging is exact
    assert abs(accuracy(report["builder"]) - accuracy(report["merge"])) <= 1 / 96 + 1e-9  # int4: one answer at most
    int4 = report["builder"]["metrics"]
    assert int4["latency"]["avg"] > 0 and int4["latency"]["tokens_per_second"] > 0
    assert int4["size"]["bytes"] < report["merge"]["metrics"]["size"]["bytes"]
    perplexity = {name: stage["metrics"]["perplexity"]["perplexity"] for name, stage in report.items()}
    assert perplexity["merge"] < perplexity["input_model"] / 5
    assert perplexity["builder"] == pytest.approx(perplexity["merge"], rel=0.05)  # what int4 costs
    model = example / "out" / "model"
    assert {"genai_config.json", "model.onnx", "tokenizer.json"} <= {p.name for p in model.iterdir()}
    assert (example / "out" / "lora-loss.svg").is_file()
    table = current_run.stdout.splitlines()
    assert "accuracy" in table[0].split()  # the summary's header: one column per metric, units in headers
    assert ["builder", "ModelBuilder"] in [line.split()[:2] for line in table]  # each stage's row names its pass
    assert any("0 cached pass(es)" in line for line in table) and f"model: {model}" in table


@pytest.mark.slow
def test_predict_answers_held_out_phrases_with_the_int4_model(example, current_run):
    assert current_run.returncode == 0
    predicted = run(example, "predict.py", "out/model")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    lines = predicted.stdout.splitlines()
    assert len(lines) == 8 and {line.split()[0] for line in lines} <= TONES
    assert sum(line.endswith("  ok") for line in lines) >= 6
    one = run(example, "predict.py", "out/model", "I was trembling when the lights went out.")
    assert one.returncode == 0 and one.stdout.split()[0] in TONES


@pytest.mark.slow
def test_a_second_run_takes_every_pass_and_evaluation_from_the_cache(example, current_run):
    assert current_run.returncode == 0
    first = stages(example / "out" / "run.json")
    again = run(example, "-m", "olivine", "run", "--config", "workflow.json", "--no-progress")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "3 cached pass(es)" in again.stdout
    second = stages(example / "out" / "run.json")
    assert {n: s["metrics"] for n, s in second.items()} == {n: s["metrics"] for n, s in first.items()}


@pytest.mark.slow
def test_the_cookbook_schema_config_runs_as_is(example, current_run):
    """olive-config.json: PyTorchModel + hf_config, params/config wrappers, evaluation_strategy."""
    old = run(example, "-m", "olivine", "run", "--config", "olive-config.json", "--no-progress",
              "--output-dir", "out-olive")
    assert old.returncode == 0, old.stderr[-3000:]
    report = stages(example / "out-olive" / "run.json")
    assert list(report) == ["input_model", "lora", "merge_adapter_weights", "builder"]
    assert accuracy(report["builder"]) >= 0.9
    assert "training_args.evaluation_strategy -> eval_strategy" in old.stderr


def test_the_qlora_variant_is_a_valid_workflow(example):
    checked = run(example, "-m", "olivine", "config", "validate", "qlora.json")
    assert checked.returncode == 0, checked.stderr
    assert "qlora:QLoRA" in checked.stdout and "builder:ModelBuilder" in checked.stdout


def test_the_gpu_variant_says_why_it_cannot_run_here(example):
    refused = run(example, "-m", "olivine", "run", "--config", "phi3-mini-cuda.json")
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert any(line.startswith("error: input_model.model_path: ") for line in errors)
    if shutil.which("nvidia-smi") is None:
        assert any("execution_providers[0]: CUDAExecutionProvider" in line for line in errors)
    assert "Traceback" not in refused.stderr
    assert not (example / "out-phi3-mini-cuda").exists()
