"""A cache shared by runs that cannot see each other's pids (containers on one volume): liveness comes
from held file locks, and waiting for another run has a limit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
from core_helpers import run_labels as labels
from core_helpers import touch_workflow, wait_for, write_workflow


def start(path, log, prefix=(), **env):
    return subprocess.Popen([*prefix, sys.executable, "-m", "olivine", "run", "--config", str(path), "--no-progress"],
                            env={**os.environ, "OLIVINE_TEST_RUN_LOG": str(log), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def two_workflows(tmp_path, model, sleep):
    cfg = touch_workflow(model, labels=("a",))
    cfg["passes"]["a"]["sleep"] = sleep
    first = write_workflow(tmp_path, cfg, "first.json")
    cfg["engine"]["output_dir"] = "out2"
    return first, write_workflow(tmp_path, cfg, "second.json")


@pytest.mark.skipif(shutil.which("unshare") is None or
                    subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                                   capture_output=True).returncode != 0,
                    reason="cannot create a pid namespace here (needs unshare and root or user namespaces)")
def test_a_run_in_another_pid_namespace_waits_for_a_live_run(tmp_path, fake_hf_model, test_plugins):
    first, second = two_workflows(tmp_path, fake_hf_model, sleep=3)
    log = tmp_path / "runs.log"
    live = start(first, log)
    wait_for(lambda: labels(log) == ["a"])
    other = start(second, log, prefix=("unshare", "--pid", "--fork", "--mount-proc"))
    assert live.wait(timeout=120) == 0, live.stderr.read()  # its work folder was not taken from it
    assert other.wait(timeout=120) == 0, other.stderr.read()
    assert labels(log) == ["a"]  # the other run waited, then used the finished entry
    for out in ("out", "out2"):
        assert (tmp_path / out / "model" / "TOUCHED").read_text() == "a\n"


def test_lock_wait_has_a_limit_and_says_so_in_one_line(tmp_path, fake_hf_model, test_plugins):
    first, second = two_workflows(tmp_path, fake_hf_model, sleep=30)
    log = tmp_path / "runs.log"
    holder = start(first, log)
    try:
        wait_for(lambda: labels(log) == ["a"])
        waiter = start(second, log, OLIVINE_CACHE_LOCK_TIMEOUT="1")
        assert waiter.wait(timeout=60) == 2
        errors = [line for line in waiter.stderr.read().splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "stayed locked" in errors[0] and "OLIVINE_CACHE_LOCK_TIMEOUT" in errors[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_killed_runs_work_folder_is_removed_by_the_next_run(tmp_path, fake_hf_model, test_plugins):
    first, _ = two_workflows(tmp_path, fake_hf_model, sleep=30)
    log = tmp_path / "runs.log"
    killed = start(first, log)
    wait_for(lambda: labels(log) == ["a"])
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert len(list((tmp_path / "cache" / "work").iterdir())) == 1
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    final = start(write_workflow(tmp_path, cfg, "first.json"), log)
    assert final.wait(timeout=120) == 0, final.stderr.read()
    assert list((tmp_path / "cache" / "work").iterdir()) == []
