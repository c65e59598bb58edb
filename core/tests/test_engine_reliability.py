"""SIGKILL mid-run, two runs at once on one cache dir, an output dir holding a previous run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from core_helpers import run_labels as labels
from core_helpers import touch_workflow, wait_for, write_workflow


def start_run(path, log, **extra_env):
    env = {**os.environ, "OLIVINE_TEST_RUN_LOG": str(log), **extra_env}
    return subprocess.Popen([sys.executable, "-m", "olivine", "run", "--config", str(path), "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_run_resumes_from_last_finished_pass(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model)
    cfg["passes"]["b"]["sleep"] = 30
    path = write_workflow(tmp_path, cfg)
    log = tmp_path / "runs.log"
    proc = start_run(path, log)
    wait_for(lambda: labels(log) == ["a", "b"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out").exists()
    cfg["passes"]["b"]["sleep"] = 30  # same config: pass a must come from the cache
    second = start_run(path, log)
    wait_for(lambda: labels(log) == ["a", "b", "b"])
    second.send_signal(signal.SIGKILL)
    second.wait()
    cfg["passes"]["b"]["sleep"] = 0
    write_workflow(tmp_path, cfg)
    final = start_run(path, log)
    assert final.wait(timeout=120) == 0, final.stderr.read()
    assert labels(log) == ["a", "b", "b", "b", "c"]
    assert (tmp_path / "out" / "model" / "TOUCHED").read_text() == "a\nb\nc\n"
    stages = json.loads((tmp_path / "out" / "run.json").read_text())["stages"]
    assert [s["cache_hit"] for s in stages] == [True, False, False]
    assert sorted(p.name for p in (tmp_path / "cache" / "work").iterdir()) == []


def test_two_runs_at_once_on_one_cache_run_each_pass_once(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model)
    cfg["passes"]["a"]["sleep"] = 1.0
    first_path = write_workflow(tmp_path, cfg, "first.json")
    cfg["engine"]["output_dir"] = "out2"
    second_path = write_workflow(tmp_path, cfg, "second.json")
    log = tmp_path / "runs.log"
    procs = [start_run(first_path, log), start_run(second_path, log)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert sorted(labels(log)) == ["a", "b", "c"]
    for out in ("out", "out2"):
        assert (tmp_path / out / "model" / "TOUCHED").read_text() == "a\nb\nc\n"


def test_new_run_replaces_previous_output_atomically(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    path = write_workflow(tmp_path, cfg)
    log = tmp_path / "runs.log"
    assert start_run(path, log).wait(timeout=120) == 0
    (tmp_path / "out" / "notes.txt").write_text("mine")
    cfg["passes"] = {"z": {"type": "Touch", "label": "z"}}
    write_workflow(tmp_path, cfg)
    assert start_run(path, log).wait(timeout=120) == 0
    assert (tmp_path / "out" / "model" / "TOUCHED").read_text() == "z\n"
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []
