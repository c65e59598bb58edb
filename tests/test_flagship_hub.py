"""The flagship example with ``model_path`` set to a hub id, through the README's commands (``olivine run``,
then ``predict.py``), against a real HTTP hub on the loopback (olivine.testing.local_hub) serving the tiny
Phi-3. Only the model id and a short training differ from examples/phi3-emotion/workflow.json; nothing
here reaches the internet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from olivine.testing import needs_distributions, tiny_phi3
from olivine.testing.local_hub import LocalHub

pytestmark = [pytest.mark.slow,
              needs_distributions("olivine-lora", "olivine-merge", "olivine-modelbuilder", "olivine-runtimes")]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "phi3-emotion"
REPO = "tiny-org/tiny-phi3"
STEPS = 8


def _run(folder: Path, hub: LocalHub, home: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environ.update({"HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
                    "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5", "HF_DATASETS_OFFLINE": "1"})
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, env=environ,
                          timeout=900)


@pytest.fixture
def example(tmp_path) -> Path:
    """The example's workflow, data and predict.py, with model_path a hub id and a short training."""
    folder = tmp_path / "phi3-emotion"
    shutil.copytree(EXAMPLE / "data", folder / "data")
    shutil.copy2(EXAMPLE / "predict.py", folder / "predict.py")
    config = json.loads((EXAMPLE / "workflow.json").read_text())
    assert config["input_model"]["model_path"] == "models/tiny-phi3"  # the one line a user changes
    config["input_model"]["model_path"] = REPO
    config["passes"]["lora"]["training_args"]["max_steps"] = STEPS
    (folder / "workflow.json").write_text(json.dumps(config, indent=2))
    return folder


def test_flagship_runs_from_a_hub_id_through_the_readme_commands(example, tmp_path):
    home = tmp_path / "hf-home"
    with LocalHub() as hub:
        sha = hub.add_repo(REPO, tiny_phi3())
        result = _run(example, hub, home, "-m", "olivine", "run", "--config", "workflow.json", "--no-progress")
        assert result.returncode == 0, result.stderr[-3000:]
        assert any(REPO in request for request in hub.requests)
    # The model came from the hub into the user's Hugging Face cache, at the resolved commit.
    snapshot = home / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots" / sha
    assert (snapshot / "model.safetensors").is_file()
    stages = [stage["name"] for stage in json.loads((example / "out" / "run.json").read_text())["stages"]]
    assert stages == ["input_model", "lora", "merge", "builder"]
    assert (example / "out" / "model" / "genai_config.json").is_file()
    # The hub is gone: predict.py reads the exported model only.
    phrase = "I was trembling when the lights went out."
    predicted = _run(example, hub, home, "predict.py", "out/model", phrase)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    [line] = predicted.stdout.splitlines()  # "<prediction> <phrase>": after 8 steps, any text
    assert line.endswith(phrase)
