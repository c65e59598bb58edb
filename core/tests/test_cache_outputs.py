"""Published outputs are the user's: copies, never links into the cache; publishing is all or nothing."""

from __future__ import annotations

import json
import shutil

from core_helpers import olivine_cli, touch_workflow, write_workflow


def run(path, **env):
    result = olivine_cli("run", "--config", str(path), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_editing_the_output_never_changes_the_cache(tmp_path, fake_hf_model, test_plugins):
    path = write_workflow(tmp_path, touch_workflow(fake_hf_model, labels=("a",)))
    run(path)
    published = tmp_path / "out" / "model" / "TOUCHED"
    [entry] = (tmp_path / "cache" / "models").iterdir()
    assert published.stat().st_ino != (entry / "model" / "TOUCHED").stat().st_ino
    with open(published, "a") as handle:  # an edit in place, as an editor or a script would do
        handle.write("edited\n")
    shutil.rmtree(tmp_path / "out")
    run(path)
    assert published.read_text() == "a\n"
    assert (entry / "model" / "TOUCHED").read_text() == "a\n"


def test_a_publish_killed_after_its_commit_is_completed_by_the_next_run(tmp_path, fake_hf_model, test_plugins):
    """The state a SIGKILL between the per-item renames leaves: journal written, model/ moved aside."""
    cfg = touch_workflow(fake_hf_model, labels=("a",))
    path = write_workflow(tmp_path, cfg)
    run(path)
    out = tmp_path / "out"
    stage, previous = out / ".staging-dead1", out / ".previous-dead1"
    stage.mkdir()
    shutil.copytree(out / "model", stage / "model")
    (stage / "model" / "TOUCHED").write_text("new\n")
    (stage / "run.json").write_text(json.dumps({"marker": "new"}))
    (out / ".publish.json").write_text(json.dumps({"staging": stage.name, "previous": previous.name,
                                                   "items": ["model", "run.json"]}))
    previous.mkdir()
    (out / "model").rename(previous / "model")  # the kill came here: out/ has no model/
    (out / ".staging-other").mkdir()  # and a dead run's leftover

    cfg["passes"] = {"x": {"type": "Explode"}}  # the next run fails, yet completes the publish first
    write_workflow(tmp_path, cfg)
    failed = olivine_cli("run", "--config", str(path), "--no-progress")
    assert failed.returncode != 0
    assert (out / "model" / "TOUCHED").read_text() == "new\n"
    assert json.loads((out / "run.json").read_text()) == {"marker": "new"}
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_artifact_names_stay_inside_the_output_dir(tmp_path):
    from olivine.output import publish

    source = tmp_path / "curve.svg"
    source.write_text("<svg/>")
    victim = tmp_path / "victim.svg"
    victim.write_text("mine")
    out = tmp_path / "a" / "out"
    publish(out, None, {"artifacts": [{"name": "../../victim.svg", "source": str(source)}]})
    assert victim.read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["_.._victim.svg", "run.json"]
