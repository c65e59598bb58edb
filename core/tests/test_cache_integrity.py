"""A damaged cache entry is never reused: it is named as corrupt, set aside, and its pass runs again."""

from __future__ import annotations

import json
import os
import shutil

from core_helpers import olivine_cli, touch_workflow, write_workflow
from olivine.cache import Cache


def run(tmp_path, path, log):
    result = olivine_cli("run", "--config", str(path), "--no-progress", env={"OLIVINE_TEST_RUN_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def labels(log) -> list[str]:
    return [line.split()[0] for line in log.read_text().splitlines()]


def entry_of(tmp_path, label: str):
    """The cache entry made by the Touch pass with ``label`` (its TOUCHED file ends with the label)."""
    for entry in (tmp_path / "cache" / "models").iterdir():
        if (entry / "model" / "TOUCHED").read_text().endswith(f"{label}\n"):
            return entry
    raise AssertionError(f"no entry for {label}")


def cached_twice(tmp_path, fake_hf_model, damage) -> tuple[str, list[str]]:
    """Run a-b, damage b's entry, run again: (stderr of the second run, passes that ran in all)."""
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a", "b")))
    log = tmp_path / "runs.log"
    run(tmp_path, path, log)
    entry = entry_of(tmp_path, "b")
    damage(entry)
    second = run(tmp_path, path, log)
    assert (tmp_path / "out" / "model" / "TOUCHED").read_text() == "a\nb\n"
    assert (tmp_path / "out" / "model" / "model.safetensors").read_bytes() == \
        (fake_hf_model / "model.safetensors").read_bytes()
    return second.stderr, labels(log)


def test_truncated_cached_file_is_reported_and_the_pass_reruns(tmp_path, fake_hf_model, test_plugins):
    def truncate(entry):
        os.truncate(entry / "model" / "model.safetensors", 500)

    stderr, ran = cached_twice(tmp_path, fake_hf_model, truncate)
    assert ran == ["a", "b", "b"]
    assert "corrupt, re-running" in stderr and "model/model.safetensors" in stderr
    assert len(list((tmp_path / "cache" / "corrupt").iterdir())) == 1


def test_deleted_cached_files_are_reported_and_the_pass_reruns(tmp_path, fake_hf_model, test_plugins):
    def delete(entry):
        (entry / "model" / "model.safetensors").unlink()
        (entry / "model" / "config.json").unlink()

    stderr, ran = cached_twice(tmp_path, fake_hf_model, delete)
    assert ran == ["a", "b", "b"]
    assert "is missing; corrupt, re-running" in stderr


def test_empty_ref_json_is_a_note_not_a_traceback(tmp_path, fake_hf_model, test_plugins):
    def empty(entry):
        (entry / "ref.json").write_text("")

    stderr, ran = cached_twice(tmp_path, fake_hf_model, empty)
    assert ran == ["a", "b", "b"]
    assert "ref.json" in stderr and "corrupt, re-running" in stderr


def test_entry_of_the_previous_format_is_not_finished(tmp_path, fake_hf_model, test_plugins):
    def older(entry):  # what earlier olivine versions wrote: ref.json and the files, no manifest
        (entry / "manifest.json").unlink()

    stderr, ran = cached_twice(tmp_path, fake_hf_model, older)
    assert ran == ["a", "b", "b"]
    assert "no manifest" in stderr


def test_file_added_to_an_entry_is_detected(tmp_path, fake_hf_model, test_plugins):
    def plant(entry):
        (entry / "model" / "extra.py").write_text("import os\n")

    stderr, ran = cached_twice(tmp_path, fake_hf_model, plant)
    assert ran == ["a", "b", "b"]
    assert "extra.py is not in the manifest" in stderr


def test_same_size_edit_is_caught_when_published_and_rerun_next_time(tmp_path, fake_hf_model, test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))
    log = tmp_path / "runs.log"
    run(tmp_path, path, log)
    shutil.rmtree(tmp_path / "out")
    cached = entry_of(tmp_path, "a") / "model" / "model.safetensors"
    data = bytearray(cached.read_bytes())
    data[100] ^= 0xFF
    cached.write_bytes(bytes(data))

    failed = olivine_cli("run", "--config", str(path), "--no-progress", env={"OLIVINE_TEST_RUN_LOG": str(log)})
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "model.safetensors does not match its manifest hash" in failed.stderr
    assert not (tmp_path / "out" / "model").exists()  # nothing damaged was published

    run(tmp_path, path, log)
    assert labels(log) == ["a", "a"]
    assert (tmp_path / "out" / "model" / "model.safetensors").read_bytes() == \
        (fake_hf_model / "model.safetensors").read_bytes()


def test_unreadable_evaluation_result_is_set_aside(tmp_path):
    cache = Cache(tmp_path / "cache")
    cache.store_eval("k1", {"accuracy": {"accuracy": 0.5}})
    assert cache.lookup_eval("k1") == {"accuracy": {"accuracy": 0.5}}
    (tmp_path / "cache" / "evals" / "k1.json").write_text("")
    assert cache.lookup_eval("k1") is None
    assert not (tmp_path / "cache" / "evals" / "k1.json").exists()
    assert [p.name.split("-")[0] for p in (tmp_path / "cache" / "corrupt").iterdir()] == ["k1.json"]


def test_content_hashes_are_merged_across_runs_and_bounded(tmp_path, monkeypatch):
    from olivine import cache as cache_module

    monkeypatch.setattr(cache_module, "MEMO_LIMIT", 3)
    files = []
    for i in range(5):
        files.append(tmp_path / f"f{i}")
        files[-1].write_text(str(i))
    one, two = Cache(tmp_path / "cache"), Cache(tmp_path / "cache")
    one.file_key(files[0])
    two.file_key(files[1])  # two started before one wrote: its write must keep one's digest
    memo = json.loads((tmp_path / "cache" / "content-hashes.json").read_text())
    assert len(memo) == 2
    for file in files[2:]:
        two.file_key(file)
    memo = json.loads((tmp_path / "cache" / "content-hashes.json").read_text())
    assert len(memo) == 3 and any(key.startswith(str(files[4].resolve())) for key in memo)
