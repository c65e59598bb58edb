"""An input model in AzureML's MLflow layout (config, tokenizer and weights in separate folders)."""

from __future__ import annotations

from core_helpers import touch_workflow, write_workflow
from olivine.engine import run


def test_local_mlflow_model_runs_as_one_hugging_face_folder(tmp_path, test_plugins):
    model = tmp_path / "mlflow-model"
    for part, name, content in (("data/config", "config.json", "{}"), ("data/tokenizer", "tokenizer.json", "{}"),
                                ("data/model", "model.safetensors", "weights")):
        (model / part).mkdir(parents=True)
        (model / part / name).write_text(content)
    (model / "MLmodel").write_text("flavors:\n  hftransformersv2: {}\n")
    cfg = touch_workflow(model, labels=("a",))
    cfg["input_model"]["model_file_format"] = "PyTorch.MLflow"
    outcome = run(write_workflow(tmp_path, cfg), show_progress=False)
    produced = sorted(p.name for p in (outcome.output_dir / "model").iterdir())
    assert produced == ["TOUCHED", "config.json", "model.safetensors", "tokenizer.json"]
    again = run(write_workflow(tmp_path, cfg), show_progress=False)
    assert [r.cache_hit for r in again.passes] == [True]
