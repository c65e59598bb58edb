"""Fixtures: the Azurite storage emulator, the test plugin, the tiny model, workflows using AzureML.

No Azure workspace is reachable from the test machines: storage is Azurite (a real blob service,
started on loopback), the MLClient is the fake in ``support/fake_mlclient.py``, and jobs run on this
machine through ``support/aml_runtime.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))

from fake_mlclient import Azurite, FakeMLClient  # noqa: E402

# Pinned like the Python packages (requirements/verified.txt): a new emulator release must not change the tests.
AZURITE_VERSION = "3.35.0"
AZURITE_DIR = Path(os.environ.get("OLIVINE_AZURITE_DIR",
                                  Path.home() / ".cache" / f"olivine-azurite-{AZURITE_VERSION}"))
COOKBOOK_CONDA = """\
name: project_environment
channels:
  - defaults
dependencies:
  - python=3.11
  - pip
  - pip:
      - azure-identity
      - datasets
"""


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory):
    """An Azurite blob service on a free loopback port (installed with npm into a cache folder once)."""
    from filelock import FileLock

    binary = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    AZURITE_DIR.parent.mkdir(parents=True, exist_ok=True)
    # Parallel test workers (pytest-xdist) share the folder: one installs, the others wait for it.
    with FileLock(f"{AZURITE_DIR}.lock"):
        if not binary.exists():
            if shutil.which("npm") is None:
                pytest.skip("npm is not installed, so the Azurite storage emulator cannot be installed")
            subprocess.run(["npm", "install", "--prefix", str(AZURITE_DIR), f"azurite@{AZURITE_VERSION}",
                            "--no-audit", "--no-fund"], check=True, capture_output=True, timeout=600)
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--disableTelemetry",
         "--skipApiVersionCheck", "--location", str(tmp_path_factory.mktemp("azurite")), "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, process)
        yield ("127.0.0.1", port)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def azurite(azurite_server) -> Azurite:
    """A fresh container on the emulator, so tests do not see each other's uploads."""
    store = Azurite(*azurite_server, container=f"azureml-{uuid.uuid4().hex[:12]}")
    store.container_client().create_container()
    return store


@pytest.fixture
def test_plugin():
    """Register the test plugin's passes and metric in this process (and, by environment, in children)."""
    saved = {k: os.environ.get(k) for k in ("OLIVINE_PLUGIN_MODULES", "PYTHONPATH")}
    os.environ["OLIVINE_PLUGIN_MODULES"] = "olivine_azureml_testplugin"
    from olivine import get_plugins

    get_plugins(reload=True)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_plugins(reload=True)


@pytest.fixture
def fake_workspace(azurite, tmp_path, monkeypatch, test_plugin):
    """The MLClient boundary replaced by the fake; everything behind our side of it is real."""
    from aml_runtime import plugin_env

    client = FakeMLClient(azurite, node_root=_mkdir(tmp_path / "nodes"), node_env=plugin_env())
    monkeypatch.setattr("olivine_azureml.workspace.make_ml_client", lambda *args, **kwargs: client)
    return client


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    from olivine.testing import tiny_phi3

    return tiny_phi3()


@pytest.fixture(scope="session")
def train_file() -> Path:
    from olivine.testing import tone_data_dir

    return tone_data_dir() / "train.jsonl"


@pytest.fixture
def workflow(tmp_path, tiny_model, train_file):
    """Write a workflow running ``passes`` with engine.host ``aml`` (the cookbook's old system shape)."""

    def write(passes: dict, system: dict | None = None, engine: dict | None = None, **extra) -> Path:
        (tmp_path / "conda.yaml").write_text(COOKBOOK_CONDA)
        config = {
            "azureml_client": {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws",
                               "keyvault_name": "olivine-kv", "operation_retry_interval": 0},
            "input_model": {"type": "HfModel", "model_path": str(tiny_model)},
            "systems": {"aml": {"type": "AzureML", "config": system or {
                "accelerators": ["gpu"], "aml_compute": "gpu-cluster",
                "aml_docker_config": {"base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                                      "conda_file_path": "conda.yaml"}}}},
            "data_configs": [{"name": "tone_train", "type": "HuggingfaceContainer",
                              "load_dataset_config": {"data_name": "json", "data_files": str(train_file),
                                                      "split": "train"}}],
            "passes": passes,
            "engine": {"host": "aml", "cache_dir": "cache", "output_dir": "out", **(engine or {})},
            **extra,
        }
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    return write


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite exited: {process.stderr.read().decode(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"azurite did not listen on port {port} within {timeout}s")
