"""Hub dataset ids as data_name, through the real datasets/huggingface_hub clients against a loopback hub
(olivine.testing.local_hub) serving the tone data as JSON lines. Nothing here reaches the internet."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from olivine.testing import load_tone_rows
from olivine.testing.local_hub import LocalHub

DATASET = "tiny-org/tone"
# What a pass does with a data config: pin the revision (the cache key), then read the rows.
READ = """
import json, sys
from olivine.config.schema import DataConfig
from olivine.data.container import HuggingfaceContainer
from olivine.data.hub import pin_revision
from olivine.errors import OlivineError
load = json.loads(sys.argv[1])
try:
    pinned = pin_revision(load, ".", "data_configs[0].load_dataset_config")
    rows = HuggingfaceContainer(DataConfig(name="d", load_dataset_config=pinned)).records()
except OlivineError as exc:
    print(exc); sys.exit(2)
print(json.dumps({"revision": pinned.get("revision"), "rows": rows}))
"""


@pytest.fixture
def hub(tmp_path):
    folder = tmp_path / "tone"
    (folder / "data").mkdir(parents=True)
    rows = load_tone_rows("train")
    (folder / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with LocalHub() as server:
        server.sha = server.add_repo(DATASET, folder, kind="dataset")
        server.rows = rows
        yield server


def _read(hub, tmp_path, **load) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update({"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DOWNLOAD_TIMEOUT": "2", "HF_HUB_ETAG_TIMEOUT": "2"})
    return subprocess.run([sys.executable, "-c", READ, json.dumps(load)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)


def test_hub_dataset_with_a_sliced_split_is_pinned_to_its_commit(hub, tmp_path):
    result = _read(hub, tmp_path, data_name=DATASET, split="train[2:5]")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["revision"] == hub.sha
    assert [r["phrase"] for r in out["rows"]] == [r["phrase"] for r in hub.rows[2:5]]


def test_unknown_hub_dataset_is_one_line(hub, tmp_path):
    result = _read(hub, tmp_path, data_name="tiny-org/nothing")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "tiny-org/nothing" in result.stdout and "not found" in result.stdout
