"""Hub repo ids as model_path, through the real CLI and huggingface_hub, against a real HTTP hub on the loopback
(olivine.testing.local_hub) serving a tiny Phi-3. Nothing here reaches the internet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from olivine.testing import tiny_phi3
from olivine.testing.local_hub import LocalHub

REPO = "tiny-org/phi3"
GOOD_TOKEN = "hf_good_token"


@pytest.fixture
def repo_folder(tmp_path) -> Path:
    """The tiny Phi-3 plus an old pickle beside the safetensors (which must never be downloaded)."""
    folder = tmp_path / "repo"
    shutil.copytree(tiny_phi3(), folder)
    (folder / "pytorch_model.bin").write_bytes(b"not for download")
    return folder


@pytest.fixture
def hub():
    with LocalHub() as server:
        yield server


def _workflow(tmp_path: Path, model_path: str, **load_kwargs) -> Path:
    config = {"input_model": {"type": "HfModel", "model_path": model_path, "load_kwargs": load_kwargs},
              "systems": {"local": {"type": "LocalSystem", "accelerators": [{"device": "cpu"}]}},
              "engine": {"target": "local"},
              "passes": {"builder": {"type": "ModelBuilder", "precision": "int4"}}}
    file = tmp_path / "workflow.json"
    file.write_text(json.dumps(config))
    return file


def _validate(config: Path, hub: LocalHub, home: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environ.update({"HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
                    "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "2", **env})
    return subprocess.run([sys.executable, "-m", "olivine", "config", "validate", str(config)],
                          capture_output=True, text=True, env=environ, timeout=300)


def _snapshots(home: Path, repo: str = REPO) -> list[Path]:
    return sorted((home / "hub" / ("models--" + repo.replace("/", "--")) / "snapshots").glob("*"))


def _error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


def test_download_then_cached_rerun_without_the_hub(tmp_path, hub, repo_folder):
    sha = hub.add_repo(REPO, repo_folder)
    config, home = _workflow(tmp_path, REPO), tmp_path / "hf"
    first = _validate(config, hub, home)
    assert first.returncode == 0, first.stderr[-2000:]
    [snapshot] = _snapshots(home)
    assert snapshot.name == sha
    files = {p.name for p in snapshot.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= files
    assert "pytorch_model.bin" not in files
    hub.stop()  # no network from here on: the cached snapshot serves
    again = _validate(config, hub, home)
    assert again.returncode == 0, again.stderr[-2000:]
    offline = _validate(config, hub, home, HF_HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr[-2000:]


def test_pinned_revision_and_unknown_revision(tmp_path, hub, repo_folder):
    first = hub.add_repo(REPO, repo_folder)
    (repo_folder / "README.md").write_text("second commit")
    second = hub.add_repo(REPO, repo_folder)
    home = tmp_path / "hf"
    assert _validate(_workflow(tmp_path, REPO, revision=first), hub, home).returncode == 0
    assert [p.name for p in _snapshots(home)] == [first]
    assert _validate(_workflow(tmp_path, REPO), hub, home).returncode == 0
    assert second in [p.name for p in _snapshots(home)]
    line = _error_line(_validate(_workflow(tmp_path, REPO, revision="no-such-branch"), hub, home))
    assert "input_model.model_path" in line and "no-such-branch" in line


def test_gated_repo_without_and_with_token(tmp_path, hub, repo_folder):
    hub.add_repo(REPO, repo_folder, gated_tokens={GOOD_TOKEN})
    config, home = _workflow(tmp_path, REPO), tmp_path / "hf"
    no_token = _error_line(_validate(config, hub, home))
    assert "gated" in no_token and "HF_TOKEN" in no_token
    wrong = _error_line(_validate(config, hub, home, HF_TOKEN="hf_someone_else"))
    assert "gated" in wrong and "request access" in wrong
    assert not _snapshots(home) or not any((s / "model.safetensors").exists() for s in _snapshots(home))
    allowed = _validate(config, hub, home, HF_TOKEN=GOOD_TOKEN)
    assert allowed.returncode == 0, allowed.stderr[-2000:]


def test_unknown_repo(tmp_path, hub):
    line = _error_line(_validate(_workflow(tmp_path, "tiny-org/nothing-here"), hub, tmp_path / "hf"))
    assert "tiny-org/nothing-here" in line and "not found" in line


def test_hub_that_stops_answering_mid_download(tmp_path, hub, repo_folder):
    hub.add_repo(REPO, repo_folder)
    hub.stall(REPO, "model.safetensors")
    config, home = _workflow(tmp_path, REPO), tmp_path / "hf"
    started = time.monotonic()
    line = _error_line(_validate(config, hub, home))
    assert time.monotonic() - started < 120
    assert "input_model.model_path" in line
    # Nothing half-written is ever used: no weights in the snapshot, and the next run downloads them whole.
    assert not any((s / "model.safetensors").exists() for s in _snapshots(home))
    hub.stalled.clear()
    assert _validate(config, hub, home).returncode == 0
    [snapshot] = _snapshots(home)
    assert (snapshot / "model.safetensors").read_bytes() == (repo_folder / "model.safetensors").read_bytes()


def test_offline_without_cache(tmp_path, hub, repo_folder):
    hub.add_repo(REPO, repo_folder)
    line = _error_line(_validate(_workflow(tmp_path, REPO), hub, tmp_path / "hf", HF_HUB_OFFLINE="1"))
    assert "HF_HUB_OFFLINE" in line
    assert hub.requests == []


def test_repo_needing_custom_code_is_refused(tmp_path, hub, repo_folder):
    config = json.loads((repo_folder / "config.json").read_text())
    config.update(model_type="acme_custom", auto_map={"AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM"})
    (repo_folder / "config.json").write_text(json.dumps(config))
    (repo_folder / "modeling_acme.py").write_text("raise SystemExit('remote code ran')\n")
    hub.add_repo(REPO, repo_folder)
    home = tmp_path / "hf"
    line = _error_line(_validate(_workflow(tmp_path, REPO), hub, home))
    assert "trust_remote_code" in line
    assert not any((s / "modeling_acme.py").exists() for s in _snapshots(home))
