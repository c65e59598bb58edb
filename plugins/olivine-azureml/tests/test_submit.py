"""Submitting, streaming, cancelling and fetching jobs, through the fake MLClient and the Azurite datastore."""

from __future__ import annotations

import pytest
from fake_mlclient import TransientFailures
from olivine import PassError, content_key

SCALE = {"scale": {"type": "ScaleWeights", "factor": 0.5, "train_data_config": "tone_train"}}


def run(config, **kwargs):
    from olivine import run_workflow as engine_run

    return engine_run(config, show_progress=False, **kwargs)


def blob_names(azurite, prefix: str) -> list[str]:
    return sorted(b.name for b in azurite.container_client().list_blobs(name_starts_with=prefix))


def test_a_pass_runs_as_an_azureml_job_and_its_output_is_cached(workflow, fake_workspace, tmp_path, capsys):
    outcome = run(workflow(SCALE))

    jobs = fake_workspace.jobs.submitted
    assert len(jobs) == 1
    name = next(iter(jobs))
    stage = outcome.run["stages"][-1]
    assert stage["report"]["azureml_job"] == {"name": name, "url": jobs[name].studio_url}
    assert stage["report"]["rows"] > 0
    assert "olivine run-pass --spec" in capsys.readouterr().out, "the job's log is streamed to the terminal"
    local = run(workflow(SCALE, engine={"host": None}), output_dir=tmp_path / "local-out")
    assert content_key(outcome.model.path) == content_key(local.model.path)
    assert (outcome.output_dir / "scale-scale.txt").read_text() == "factor 0.5\n", "artifacts come back too"

    again = run(workflow(SCALE))

    assert again.run["cache_hits"] == 1
    assert len(fake_workspace.jobs.submitted) == 1, "a cached pass submits no job"


def test_inputs_go_up_once_and_are_reused_by_content(workflow, fake_workspace, azurite):
    run(workflow(SCALE))
    run(workflow({"scale": {**SCALE["scale"], "factor": 3.0}}))

    first, second = (r.job for r in fake_workspace.jobs.submitted.values())
    assert first.inputs["model"].path == second.inputs["model"].path
    assert first.inputs["data_0"].path == second.inputs["data_0"].path
    uploaded = {name.split("/")[2] for name in blob_names(azurite, "olivine/uploads/")}
    assert len(uploaded) == 2, "one model folder and one data file, each uploaded once"


def test_a_later_job_reads_the_earlier_jobs_output_where_it_is(workflow, fake_workspace, azurite):
    outcome = run(workflow({**SCALE, "again": {"type": "ScaleWeights", "factor": 4.0}}))

    first, second = fake_workspace.jobs.submitted.values()
    assert second.job.inputs["model"].path.endswith(f"/paths/olivine/jobs/{first.name}/out/model/")
    assert len({name.split("/")[2] for name in blob_names(azurite, "olivine/uploads/")}) == 2
    local = run(workflow({**SCALE, "again": {"type": "ScaleWeights", "factor": 4.0}}, engine={"host": None}),
                output_dir=outcome.output_dir.parent / "local-out")
    assert content_key(outcome.model.path) == content_key(local.model.path)


def test_an_intermediate_output_stays_in_the_datastore_and_only_the_final_model_comes_home(
        workflow, fake_workspace, azurite, monkeypatch):
    from olivine_azureml import blobs

    read: list[str] = []  # every blob downloaded to this machine's side (the real download, recorded)
    real = blobs._download_file
    nodes = str(fake_workspace.node_root)  # the fake job's node mounts its inputs: not this machine's reads

    def recorded(container, name, target):
        if not str(target).startswith(nodes):
            read.append(name)
        return real(container, name, target)

    monkeypatch.setattr(blobs, "_download_file", recorded)
    passes = {**SCALE, "again": {"type": "ScaleWeights", "factor": 4.0}}
    outcome = run(workflow(passes))

    first, second = fake_workspace.jobs.submitted.values()
    assert second.job.inputs["model"].path.endswith(f"/paths/olivine/jobs/{first.name}/out/model/")
    assert not [n for n in read if n.startswith(f"olivine/jobs/{first.name}/out/model/")], "intermediate stays"
    assert [n for n in read if n.startswith(f"olivine/jobs/{second.name}/out/model/")], "final model comes home"
    cache = outcome.output_dir.parent / "cache" / "models"
    scale, again = outcome.run["stages"]
    assert sorted(p.name for p in (cache / scale["cache_key"]).rglob("*") if p.is_file()) == \
        ["manifest.json", "ref.json", "scale.txt"], "the intermediate entry refers to the job's output"
    assert (outcome.output_dir / "scale-scale.txt").read_text() == "factor 0.5\n", "its artifacts come home"
    local = run(workflow(passes, engine={"host": None, "cache_dir": "local-cache"}),
                output_dir=outcome.output_dir.parent / "local-out")
    assert content_key(outcome.model.path) == content_key(local.model.path)

    again_run = run(workflow(passes))
    assert again_run.run["cache_hits"] == 2 and len(fake_workspace.jobs.submitted) == 2, "fully cached"

    assert blobs.delete_prefix(azurite.container_client(), f"olivine/jobs/{first.name}/out/model/")
    rerun = run(workflow(passes))
    assert [s["cache_hit"] for s in rerun.run["stages"]] == [False, True], "a gone output re-runs its pass"
    assert len(fake_workspace.jobs.submitted) == 3
    assert content_key(rerun.model.path) == content_key(local.model.path)

    first_only = run(workflow(SCALE), output_dir=outcome.output_dir.parent / "first-out")
    assert first_only.run["cache_hits"] == 1 and len(fake_workspace.jobs.submitted) == 3
    entry = cache / first_only.run["stages"][0]["cache_key"]
    assert (entry / "model" / "config.json").is_file(), "now the final model: downloaded into its entry"
    assert first_only.model.path.is_relative_to(first_only.output_dir)
    local_first = run(workflow(SCALE, engine={"host": None, "cache_dir": "local-cache"}),
                      output_dir=outcome.output_dir.parent / "local-first-out")
    assert content_key(first_only.model.path) == content_key(local_first.model.path)


def test_an_adapter_keeps_pointing_at_the_local_base_model(workflow, fake_workspace, tiny_model):
    outcome = run(workflow({"tag": {"type": "TagAdapter", "tag": "joy"}}))

    assert outcome.model.format == "hf+adapter"
    assert outcome.model.base_model == tiny_model
    assert (outcome.model.path / "adapter_config.json").read_text() == '{"tag": "joy"}'


def test_a_failed_job_shows_the_pass_error_and_the_log_url(workflow, fake_workspace):
    with pytest.raises(PassError) as failure:
        run(workflow({"broken": {"type": "FailingPass"}}))

    (name, job), = fake_workspace.jobs.submitted.items()
    message = str(failure.value)
    assert message.startswith(f"passes.broken: AzureML job {name} failed: RuntimeError: the tone data has no 'phrase'")
    assert message.endswith(f"(logs: {job.studio_url})")


def test_a_job_that_dies_before_olivine_runs_shows_the_service_error(workflow, fake_workspace):
    config = workflow(SCALE, system={"aml_compute": "gpu-cluster", "olivine_requirements": ["olivine"],
                                     "aml_docker_config": {"base_image": "python:3.11"},
                                     "environment_variables": {"PATH": "/nonexistent"}})

    with pytest.raises(PassError, match=r"failed: Execution failed\. User process 'bash' exited with status code "
                                        r"127\. \(logs: https://ml\.azure\.com/runs/"):
        run(config)


def test_ctrl_c_cancels_the_job(workflow, fake_workspace):
    fake_workspace.jobs.interrupt_stream = True

    with pytest.raises(KeyboardInterrupt):
        run(workflow(SCALE))

    assert fake_workspace.jobs.cancelled == list(fake_workspace.jobs.submitted)


def test_transient_service_errors_are_retried(workflow, fake_workspace):
    fake_workspace.failures = TransientFailures(create_or_update=2, stream=1, get=1)

    outcome = run(workflow(SCALE))

    assert outcome.model is not None
    assert fake_workspace.failures.raised == ["create_or_update", "create_or_update", "stream", "get"]


def test_retries_give_up_after_max_operation_retries(workflow, fake_workspace):
    fake_workspace.failures = TransientFailures(create_or_update=5)

    with pytest.raises(PassError, match="the service is busy"):
        run(workflow(SCALE))
    assert fake_workspace.failures.raised == ["create_or_update"] * 4, "3 retries, then the error"


def test_evaluations_run_on_target_aml(workflow, fake_workspace, tmp_path):
    evaluators = {"weights": {"metrics": [{"name": "weights", "type": "WeightSum",
                                           "sub_types": [{"name": "abs_sum"}]}]}}
    remote = run(workflow(SCALE, engine={"host": None, "target": "aml", "evaluator": "weights"},
                          evaluators=evaluators))
    local = run(workflow(SCALE, engine={"host": None, "evaluator": "weights"}, evaluators=evaluators),
                output_dir=tmp_path / "local-out")

    assert len(fake_workspace.jobs.submitted) == 2, "the input model and the pass output, each a job"
    assert [s["metrics"] for s in remote.run["stages"]] == [s["metrics"] for s in local.run["stages"]]
    assert remote.run["stages"][0]["metrics"]["weights"]["abs_sum"] > 0
