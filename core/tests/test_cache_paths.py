"""Before any work: pass keys are safe file names, clean_cache cannot delete the user's files, and the
output and cache dirs are usable. Each problem is one line naming its JSON path, exit status 2."""

from __future__ import annotations

import subprocess

import pytest
from core_helpers import olivine_cli, touch_workflow, write_workflow


def fails_before_work(tmp_path, cfg, *expected: str) -> str:
    log = tmp_path / "runs.log"
    result = olivine_cli("run", "--config", str(write_workflow(tmp_path, cfg)), "--no-progress",
                         env={"OLIVINE_TEST_RUN_LOG": str(log)})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr
    assert not log.exists()  # no pass ran
    return result.stderr


@pytest.mark.parametrize("key", ["../../../escaped", "/tmp/x/ABS", ".hidden", "a b"])
def test_pass_key_that_is_not_a_safe_file_name(tmp_path, fake_hf_model, test_plugins, key):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"] = {key: {"type": "Touch"}}
    fails_before_work(tmp_path, cfg, f"error: passes.{key}: pass key")
    assert not (tmp_path / "out").exists()


def test_clean_cache_refuses_a_cache_dir_holding_the_workflow(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), cache_dir=".", clean_cache=True)
    fails_before_work(tmp_path, cfg, "error: engine.cache_dir: clean_cache would delete")
    assert (tmp_path / "workflow.json").is_file() and (fake_hf_model / "config.json").is_file()


def test_clean_cache_refuses_a_cache_dir_holding_the_model(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), cache_dir="models", clean_cache=True)
    fails_before_work(tmp_path, cfg, "the input model")
    assert (fake_hf_model / "config.json").is_file()


def test_clean_cache_of_its_own_folder_still_works(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), clean_cache=True)
    path = write_workflow(tmp_path, cfg)
    for _ in range(2):
        assert olivine_cli("run", "--config", str(path), "--no-progress").returncode == 0


def test_output_dir_that_cannot_be_a_folder(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",), output_dir="/dev/full/out")
    fails_before_work(tmp_path, cfg, "error: engine.output_dir: /dev/full/out: cannot be created")


def test_read_only_cache_dir(tmp_path, fake_hf_model, test_plugins):
    cache = tmp_path / "ro"
    cache.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(cache)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        cfg = touch_workflow(fake_hf_model, labels=("a",), cache_dir=str(cache))
        fails_before_work(tmp_path, cfg, f"error: engine.cache_dir: {cache}: not writable")
    finally:
        subprocess.run(["umount", "-l", str(cache)], check=False)


def test_full_cache_disk_is_one_line_and_leaves_nothing_half_written(tmp_path, test_plugins):
    model = tmp_path / "models" / "big"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "phi3"}')
    (model / "model.safetensors").write_bytes(b"\0" * 200_000)
    cache = tmp_path / "small"
    cache.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(cache)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        cfg = touch_workflow(model, labels=("a",), cache_dir=str(cache))
        result = olivine_cli("run", "--config", str(write_workflow(tmp_path, cfg)), "--no-progress")
        assert result.returncode != 0
        [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert "No space left on device" in line and str(cache) in line
        assert "Traceback" not in result.stderr
        assert list((cache / "work").iterdir()) == [] and list((cache / "models").iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(cache)], check=False)
