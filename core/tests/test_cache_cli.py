"""``olivine cache ls|verify|prune`` on a real cache made by real runs."""

from __future__ import annotations

import os
import time

from core_helpers import olivine_cli, touch_workflow, write_workflow


def made_cache(tmp_path, fake_hf_model):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a", "b")))
    assert olivine_cli("run", "--config", str(path), "--no-progress").returncode == 0
    return path, tmp_path / "cache"


def test_ls_lists_entries_with_their_pass_and_state(tmp_path, fake_hf_model, test_plugins):
    path, cache = made_cache(tmp_path, fake_hf_model)
    listing = olivine_cli("cache", "ls", "--config", str(path))
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if "Touch" in line]
    assert len(rows) == 2 and all(row.endswith("ok") for row in rows)


def test_verify_finds_a_same_size_edit_and_sets_it_aside(tmp_path, fake_hf_model, test_plugins):
    _, cache = made_cache(tmp_path, fake_hf_model)
    entry = sorted((cache / "models").iterdir())[0]
    target = entry / "model" / "model.safetensors"
    data = bytearray(target.read_bytes())
    data[0] ^= 1
    target.write_bytes(bytes(data))
    result = olivine_cli("cache", "verify", "--cache-dir", str(cache))
    assert result.returncode == 1
    assert f"corrupt: {entry}: model/model.safetensors does not match its hash" in result.stdout
    assert not entry.exists() and len(list((cache / "corrupt").iterdir())) == 1
    assert olivine_cli("cache", "verify", "--cache-dir", str(cache)).returncode == 0


def test_prune_removes_leftovers_then_old_entries(tmp_path, fake_hf_model, test_plugins):
    _, cache = made_cache(tmp_path, fake_hf_model)
    dead = cache / "work" / "0123abcd-deadbeef"
    dead.mkdir()
    (cache / "corrupt" / "old-entry").mkdir()
    stale = cache / "checkpoints" / "k" / ".step-000000010.4242.tmp"
    stale.mkdir(parents=True)
    old, recent = sorted((cache / "models").iterdir(), key=lambda p: p.stat().st_mtime)
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))

    preview = olivine_cli("cache", "prune", "--cache-dir", str(cache), "--older-than", "7d", "--dry-run")
    assert preview.returncode == 0 and old.exists() and f"would remove {old}" in preview.stdout

    result = olivine_cli("cache", "prune", "--cache-dir", str(cache), "--older-than", "7d")
    assert result.returncode == 0, result.stderr
    assert not dead.exists() and not stale.exists() and not (cache / "corrupt" / "old-entry").exists()
    assert not old.exists() and recent.exists()


def test_prune_to_a_size_removes_least_recently_used_first(tmp_path, fake_hf_model, test_plugins):
    _, cache = made_cache(tmp_path, fake_hf_model)
    old, recent = sorted((cache / "models").iterdir(), key=lambda p: p.stat().st_mtime)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    result = olivine_cli("cache", "prune", "--cache-dir", str(cache), "--max-size", "4K")
    assert result.returncode == 0, result.stderr
    assert not old.exists() and recent.exists()


def test_not_a_cache_dir_is_one_line(tmp_path):
    result = olivine_cli("cache", "ls", "--cache-dir", str(tmp_path))
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "Traceback" not in result.stderr
    assert str(tmp_path) in errors[0]
