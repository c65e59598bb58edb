"""report_to: mlflow logs the curves of run.json into the run the Trainer's environment variables name; a tracker
that is not installed is one error at validation."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

LORA = {"type": "LoRA", "train_data_config": "tone_train", "eval_dataset_size": 4, "lora_r": 4,
        "training_args": {"max_steps": 6, "logging_steps": 2, "eval_steps": 3, "per_device_train_batch_size": 2,
                          "run_name": "tone-lora", "report_to": ["mlflow"]}}


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs olivine-lora[mlflow]")
def test_mlflow_gets_losses_and_learning_rate_per_logging_step(tmp_path, kit, tiny_model, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # for the client reading the store below
    workflow = kit.write_workflow(tmp_path, {"lora": LORA}, tiny_model)
    store = (tmp_path / "mlruns").as_uri()
    env = {**kit.cli_env(), "MLFLOW_TRACKING_URI": store, "MLFLOW_EXPERIMENT_NAME": "tone",
           # a local folder store: MLflow now asks for a database unless told this is wanted
           "MLFLOW_ALLOW_FILE_STORE": "true"}
    result = subprocess.run([sys.executable, "-m", "olivine", "run", str(workflow), "--no-progress"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "run.json").read_text())["stages"][-1]["report"]

    client = mlflow.tracking.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("tone")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "tone-lora" and run.info.status == "FINISHED"
    assert run.data.params["training_args.max_steps"] == "6" and run.data.params["r"] == "4"

    def history(name):
        return [(m.step, m.value) for m in sorted(client.get_metric_history(run.info.run_id, name),
                                                  key=lambda m: m.step)]

    assert history("loss") == [(p["step"], pytest.approx(p["loss"], abs=1e-6)) for p in report["loss"]]
    assert [s for s, _ in history("learning_rate")] == [2, 4, 6]
    assert history("eval_loss") == [(p["step"], pytest.approx(p["loss"], abs=1e-6)) for p in report["eval_loss"]]
    assert any(note.startswith(f"report_to mlflow: run {run.info.run_id}") for note in report["notes"])


def test_a_tracker_that_is_not_installed_is_one_error_at_validation(tmp_path, kit, tiny_model):
    missing = next((name for name in ("wandb", "mlflow") if importlib.util.find_spec(name) is None), None)
    if missing is None:
        pytest.skip("both wandb and mlflow are installed here")
    lora = {**LORA, "training_args": {**LORA["training_args"], "report_to": missing}}
    result = kit.cli("config", "validate", str(kit.write_workflow(tmp_path, {"lora": lora}, tiny_model)))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "passes.lora.training_args.report_to" in errors[0] and "pip install" in errors[0]
    assert missing in errors[0] and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "out")
