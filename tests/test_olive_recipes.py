"""Microsoft's published Olive recipes (tests/olive_configs, sources in sources.json) validate as written,
with only ``model_path`` pointed at a tiny local model of the same family; a CPU one runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from olivine.engine import validate
from olivine.errors import ConfigErrors
from olivine.plugins import get_plugins
from olivine.testing.tiny_families import tiny_model

CORPUS = Path(__file__).parent / "olive_configs"
SOURCES = json.loads((CORPUS / "sources.json").read_text())["configs"]
RUN_END_TO_END = "nvidia-Mistral-NeMo-12B-Instruct_cpu_fp32.json"


def _recipe(name: str, folder: Path) -> Path:
    """The recipe as published, but for model_path: a tiny model of its family."""
    config = json.loads((CORPUS / name).read_text())
    config["input_model"]["model_path"] = str(tiny_model(SOURCES[name]["family"]))
    target = folder / name
    target.write_text(json.dumps(config, indent=2))
    return target


def _lmeval_evaluators(config: dict) -> set[str]:
    return {name for name, value in (config.get("evaluators") or {}).items() if value.get("type") == "LMEvaluator"}


def _unavailable_target_providers(config: dict) -> set[str]:
    """Paths of the target's execution providers that cannot run the onnx-genai models it evaluates here
    (a CUDA recipe on a CPU-only machine): the one error such a recipe may have, and only when it evaluates."""
    if not config.get("evaluators"):
        return set()
    genai = get_plugins().runtimes.get("onnx-genai")
    target = config.get("target") or (config.get("engine") or {}).get("target")
    accelerators = ((config.get("systems") or {}).get(target) or {}).get("accelerators") or []
    return {f"systems.{target}.accelerators[{i}].execution_providers[{j}]"
            for i, accelerator in enumerate(accelerators)
            for j, provider in enumerate(accelerator.get("execution_providers") or [])
            if genai.provider_problem(provider) is not None}


def test_every_corpus_file_has_a_source():
    files = {p.name for p in CORPUS.glob("*.json")} - {"sources.json"}
    assert files == set(SOURCES)
    assert all(info["source"].startswith("https://github.com/microsoft/olive-recipes/") for info in SOURCES.values())


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_recipe_validates(name, tmp_path):
    config_file = _recipe(name, tmp_path)
    config = json.loads(config_file.read_text())
    unavailable = _unavailable_target_providers(config)
    if unavailable:
        # Evaluating on a provider this environment lacks would fail: that, and nothing else, is reported.
        with pytest.raises(ConfigErrors) as info:
            validate(config_file)
        assert {e.path for e in info.value.errors} == unavailable
        return
    plan = validate(config_file)
    assert [p.type for p in plan.passes] == ["ModelBuilder"]
    lmeval = _lmeval_evaluators(config)
    if lmeval:
        # Olive's LMEvaluator (olivine-lmeval) becomes the engine evaluator's one metric, named after it.
        assert [(m.config.type, m.config.name) for m in plan.metrics] == [("LMEvaluator", config["evaluator"])]
        assert plan.metrics[0].evaluator.config.tasks == config["evaluators"][config["evaluator"]]["tasks"]


def test_cpu_recipe_runs_end_to_end(tmp_path):
    """Mistral NeMo's CPU fp32 recipe, through the CLI, on a tiny Mistral: an onnx-genai model comes out."""
    config_file = _recipe(RUN_END_TO_END, tmp_path)
    result = subprocess.run([sys.executable, "-m", "olivine", "run", "--config", str(config_file), "--no-progress",
                             "--output-dir", str(tmp_path / "out")], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    model = tmp_path / "out" / "model"
    assert (model / "genai_config.json").is_file()
    assert list(model.glob("*.onnx"))


def _olive13(tmp_path: Path, **extra) -> Path:
    config = {"input_model": {"type": "hfmodel", "model_path": str(tiny_model("phi3"))},
              "passes": {"builder": {"type": "modelbuilder", "precision": "int4"}},
              "engine": {"target": {"type": "LocalSystem", "accelerators": [{"device": "cpu"}]},
                         "no_artifacts": True, "log_to_file": False},
              "evaluate_input_model": False, "log_severity_level": 1, **extra}
    file = tmp_path / "olive13.json"
    file.write_text(json.dumps(config))
    return file


def test_olive_013_schema_validates_with_one_note(tmp_path):
    """Lower-case types, an inline target system and engine keys with no effect here: valid, and one note."""
    result = subprocess.run([sys.executable, "-m", "olivine", "config", "validate", str(_olive13(tmp_path))],
                            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ModelBuilder" in result.stdout
    notes = [line for line in result.stderr.splitlines() if "no effect" in line]
    assert len(notes) == 1 and "engine.no_artifacts" in notes[0] and "engine.log_to_file" in notes[0]


def test_workflow_host_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigErrors) as info:
        validate(_olive13(tmp_path, workflow_host={"type": "AzureML"}))
    assert [e.path for e in info.value.errors] == ["workflow_host"]
