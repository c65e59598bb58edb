"""Running workflows: outputs, run.json, cache hits, partial re-runs, failures that keep old results."""

from __future__ import annotations

import json

import pytest
from core_helpers import olivine_cli, touch_workflow, write_workflow
from olivine.engine import run
from olivine.errors import PassError


def run_log(path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def logged(tmp_path, monkeypatch):
    log = tmp_path / "runs.log"
    monkeypatch.setenv("OLIVINE_TEST_RUN_LOG", str(log))
    return log


def test_three_passes_produce_model_and_report(tmp_path, fake_hf_model, test_plugins, logged):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model))
    outcome = run(path, show_progress=False)
    out = tmp_path / "out"
    assert (out / "model" / "TOUCHED").read_text() == "a\nb\nc\n"
    assert (out / "model" / "model.safetensors").read_bytes() == (fake_hf_model / "model.safetensors").read_bytes()
    report = json.loads((out / "run.json").read_text())
    assert [s["name"] for s in report["stages"]] == ["a", "b", "c"]
    assert [s["cache_hit"] for s in report["stages"]] == [False, False, False]
    assert report["stages"][1]["report"]["notes"] == ["touched by b"]
    assert report["output_model"]["path"] == str(out / "model")
    assert outcome.model.path == out / "model"
    assert run_log(logged) == ["a", "b", "c"]


def test_rerun_is_fully_cached_and_changed_pass_reruns_from_there(tmp_path, fake_hf_model, test_plugins, logged):
    cfg = touch_workflow(fake_hf_model)
    path = write_workflow(tmp_path, cfg)
    run(path, show_progress=False)
    again = run(path, show_progress=False)
    assert [r.cache_hit for r in again.passes] == [True, True, True]
    assert run_log(logged) == ["a", "b", "c"]
    cfg["passes"]["b"]["sleep"] = 0.01
    write_workflow(tmp_path, cfg)
    third = run(path, show_progress=False)
    assert [r.cache_hit for r in third.passes] == [True, False, False]
    assert run_log(logged) == ["a", "b", "c", "b", "c"]


def test_changed_input_model_content_misses_the_cache(tmp_path, fake_hf_model, test_plugins, logged):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))
    run(path, show_progress=False)
    (fake_hf_model / "model.safetensors").write_bytes(b"other weights")
    second = run(path, show_progress=False)
    assert [r.cache_hit for r in second.passes] == [False]
    assert (tmp_path / "out" / "model" / "model.safetensors").read_bytes() == b"other weights"


def test_failing_pass_keeps_previous_output_and_cache(tmp_path, fake_hf_model, test_plugins, logged):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    path = write_workflow(tmp_path, cfg)
    run(path, show_progress=False)
    out = tmp_path / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    cfg["passes"]["boom"] = {"type": "Explode"}
    write_workflow(tmp_path, cfg)
    with pytest.raises(PassError, match=r"passes.boom \(Explode\) failed: RuntimeError: boom"):
        run(path, show_progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert list((tmp_path / "cache" / "work").iterdir()) == []


def test_cli_run_prints_summary_and_pass_failure_exit_status(tmp_path, fake_hf_model, test_plugins):
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    path = write_workflow(tmp_path, cfg)
    result = olivine_cli("run", "--config", str(path), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "stage" in result.stdout and "Touch" in result.stdout and f"report: {tmp_path}/out/run.json" in result.stdout
    cfg["passes"]["boom"] = {"type": "Explode"}
    write_workflow(tmp_path, cfg)
    failed = olivine_cli("run", "--config", str(path), "--no-progress")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == "error: passes.boom (Explode) failed: RuntimeError: boom"
    assert "Traceback" not in failed.stderr


def test_output_dir_option_overrides_engine_output_dir(tmp_path, fake_hf_model, test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))
    result = olivine_cli("run", "--config", str(path), "--output-dir", str(tmp_path / "elsewhere"), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "model" / "TOUCHED").is_file()
    assert not (tmp_path / "out").exists()


def test_adapter_output_records_its_base(tmp_path, fake_hf_model, test_plugins):
    cfg = {"input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
           "passes": {"adapt": {"type": "ToAdapter"}}, "engine": {"cache_dir": "cache", "output_dir": "out"}}
    outcome = run(write_workflow(tmp_path, cfg), show_progress=False)
    assert outcome.model.format == "hf+adapter"
    assert (tmp_path / "out" / "model" / "adapter_config.json").is_file()
    assert (tmp_path / "out" / "model" / "BASE_MODEL").read_text().strip() == str(fake_hf_model)


def test_a_pass_decides_which_config_differences_miss_the_cache(tmp_path, fake_hf_model, test_plugins, logged):
    """Pass.cache_config: a setting that cannot change the output (here a comment) keeps the cached result."""
    from olivine_testpasses import Touch

    class Commented(Touch):
        name = "Commented"

        class Config(Touch.Config):
            comment: str = ""

        def cache_config(self) -> dict:
            return {key: value for key, value in super().cache_config().items() if key != "comment"}

    test_plugins.passes.add(Commented, "engine-tests", "engine-tests", "0")
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"].update(type="Commented", comment="first try")
    path = write_workflow(tmp_path, cfg)
    run(path, plugins=test_plugins, show_progress=False)
    cfg["passes"]["a"]["comment"] = "same settings, new words"
    write_workflow(tmp_path, cfg)
    assert [r.cache_hit for r in run(path, plugins=test_plugins, show_progress=False).passes] == [True]
    cfg["passes"]["a"]["label"] = "z"
    write_workflow(tmp_path, cfg)
    assert [r.cache_hit for r in run(path, plugins=test_plugins, show_progress=False).passes] == [False]
    assert run_log(logged) == ["a", "z"]


def test_a_copied_workflow_folder_keeps_its_cache_and_data_counts_by_content(tmp_path, fake_hf_model, test_plugins,
                                                                            logged):
    """Data files key the cache by their content, not their absolute path."""
    import shutil

    from olivine_testpasses import Touch

    class Reads(Touch):
        name = "Reads"

        class Config(Touch.Config):
            data: str = "rows"

    test_plugins.passes.add(Reads, "engine-tests", "engine-tests", "0")
    first = tmp_path / "first"
    (first / "data").mkdir(parents=True)
    (first / "data" / "rows.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n')
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"]["a"]["type"] = "Reads"
    cfg["data_configs"] = [{"name": "rows", "type": "HuggingfaceContainer",
                            "load_dataset_config": {"data_name": "json", "data_files": "data/rows.jsonl"},
                            "pre_process_data_config": {"text_cols": ["text"]}}]
    run(write_workflow(first, cfg), plugins=test_plugins, show_progress=False)
    second = tmp_path / "second"
    shutil.copytree(first, second)
    assert [r.cache_hit for r in run(second / "workflow.json", plugins=test_plugins, show_progress=False).passes] == [
        True]
    (second / "data" / "rows.jsonl").write_text('{"text": "c"}\n')
    assert [r.cache_hit for r in run(second / "workflow.json", plugins=test_plugins, show_progress=False).passes] == [
        False]
    assert run_log(logged) == ["a", "a"]


def test_objects_frozen_between_passes_are_handed_back_to_the_collector(tmp_path, fake_hf_model, test_plugins,
                                                                        monkeypatch):
    """release_memory freezes what survives a pass (faster collections); run() thaws it for its caller."""
    import gc

    import olivine.pass_runner as pass_runner
    from olivine.memory import release_memory

    frozen_during: list[int] = []

    def watched():
        release_memory()
        frozen_during.append(gc.get_freeze_count())

    monkeypatch.setattr(pass_runner, "release_memory", watched)
    run(write_workflow(tmp_path, touch_workflow(fake_hf_model)), show_progress=False)
    assert len(frozen_during) == 3 and all(count > 0 for count in frozen_during)
    assert gc.get_freeze_count() == 0


def test_a_dry_run_describes_an_adapter_with_its_base(tmp_path, fake_hf_model, test_plugins, logged):
    """What a later job (a merge on AzureML) must upload is known without running the adapter pass."""
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    cfg["passes"] = {"adapter": {"type": "ToAdapter"}}
    outcome = run(write_workflow(tmp_path, cfg), show_progress=False, dry_run=True)
    described = outcome.passes[0].model
    assert described.format == "hf+adapter" and described.metadata["dry_run"] is True
    assert described.base_model == fake_hf_model
    assert run_log(logged) == []
