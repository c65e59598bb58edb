"""Run one drafted job: resolve its inputs, submit, stream logs until it ends, fetch its output.

Ctrl-C cancels the job; transient service errors are retried; a failed job raises PassError with
the job's error (the pass's own message when ``result.json`` came back) and the studio URL. A pass job
that ended before the pass did (no ``result.json``: a preempted or lost node) is resubmitted up to
``max_retries`` times; it mounts the checkpoints the earlier attempt left under the pass's cache key.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from olivine import PassError, rebase_spec

from olivine_azureml import blobs, outputs, uploads
from olivine_azureml.jobspec import OUT_SUBDIR, JobDraft

TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding", "Paused")
RESUBMITTED = ("Failed", "NotResponding")  # a job cancelled by someone stays cancelled
POLL_S = 30.0
CANCEL_WAIT_S = 120
log = logging.getLogger("olivine.azureml")


def run_job(workspace, draft: JobDraft, build_job, datastore: str, output_dir: Path,
            memo: dict[str, Any] | None = None, max_retries: int = 0, keep_remote: bool = False) -> dict[str, Any]:
    """``build_job(input_paths, code_dir)`` makes the azure-ai-ml job; returns ``result.json`` with local paths.

    ``keep_remote``: only result.json and the pass's artifacts come back; the model stays in the job's output
    and ``result["model"]["metadata"]["remote"]`` describes it (as a later job's input)."""
    container = workspace.container(datastore)
    paths = {u.name: workspace.retry(lambda u=u: uploads.resolve(container, u), f"upload {u.name}")
             for u in draft.local_uploads}  # models and data read in place are not uploaded
    first_name = draft.name
    name, url, status, job_error = _submit_and_watch(workspace, container, draft, build_job, paths)
    result, bound = _fetch_output(workspace, container, draft, output_dir, keep_remote)
    while result is None and status in RESUBMITTED and draft.checkpoint_key and draft.attempt < max_retries:
        draft.attempt += 1
        draft.name = f"{first_name}-retry{draft.attempt}"
        log.warning("%s: AzureML job %s ended (%s) before the pass finished; resubmitting (retry %d of %d), "
                    "it resumes from its last checkpoint", draft.where, name, status.lower(), draft.attempt,
                    max_retries)
        name, url, status, job_error = _submit_and_watch(workspace, container, draft, build_job, paths)
        result, bound = _fetch_output(workspace, container, draft, output_dir, keep_remote)
    if status != "Completed" or result is None or "error" in result:
        error = (result or {}).get("error") or job_error or ("it wrote no result.json" if result is None else None)
        raise PassError(_failure(draft.where, name, status, error, url))
    _drop_checkpoints(workspace, container, draft)
    result = _local_paths(result, draft, bound)
    remote = _left_remote(workspace, container, datastore, result, draft, output_dir, name) if keep_remote else None
    if remote is not None:
        result["model"].setdefault("metadata", {})["remote"] = remote
    else:
        if keep_remote:  # the model is not in the job's output (a pass handing on its input): fetched in full
            out = f"{draft.output_path()}{OUT_SUBDIR}"
            workspace.retry(lambda: blobs.download_prefix(container, out, output_dir), "download")
        _remember_outputs(container, result, draft, output_dir, memo)
    result.setdefault("report", {})["azureml_job"] = {"name": name, "url": url}
    return result


def _submit_and_watch(workspace, container, draft: JobDraft, build_job, paths: dict[str, str]):
    """One attempt: mount the checkpoints an earlier attempt left, submit, stream until the job ends."""
    checkpoints = draft.checkpoint_path()
    if checkpoints:
        draft.resume = workspace.retry(lambda: blobs.has_prefix(container, checkpoints), "look for checkpoints")
        if draft.resume:
            log.info("%s: checkpoints of an earlier attempt at %s: the job resumes from the last intact one",
                     draft.label, checkpoints)
    with tempfile.TemporaryDirectory(prefix="olivine-aml-code-") as code:
        job = build_job(paths, draft.write_code(Path(code)))
        submitted = workspace.retry(lambda: workspace.ml_client.jobs.create_or_update(job), "submit job")
    name, url = submitted.name, studio_url(submitted)
    log.info("%s: AzureML job %s submitted; logs: %s", draft.label, name, url)
    status, job_error = watch(workspace, name, url)
    return name, url, status, job_error


def _drop_checkpoints(workspace, container, draft: JobDraft) -> None:
    """The pass finished: its checkpoints are of no more use (as in the local cache)."""
    checkpoints = draft.checkpoint_path()
    if checkpoints:
        try:
            workspace.retry(lambda: blobs.delete_prefix(container, checkpoints), "delete checkpoints")
        except Exception as exc:  # storage left behind is not worth failing a finished pass for
            log.warning("%s: could not delete the checkpoints at %s: %s", draft.label, checkpoints, exc)


def watch(workspace, name: str, url: str | None) -> tuple[str, str | None]:
    """Stream the job's logs until it ends; Ctrl-C cancels it. Returns (status, error text)."""
    from azure.ai.ml.exceptions import JobException

    jobs = workspace.ml_client.jobs
    error = None
    try:
        workspace.retry(lambda: jobs.stream(name), "stream logs")
    except KeyboardInterrupt:
        _cancel(workspace, name, url)
        raise
    except JobException as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # azure-ai-ml wraps Ctrl-C during streaming
            _cancel(workspace, name, url)
            raise KeyboardInterrupt from None
        error = job_error_text(exc)
    try:
        status = workspace.retry(lambda: jobs.get(name), "job status").status
        while status not in TERMINAL:
            time.sleep(POLL_S)
            status = workspace.retry(lambda: jobs.get(name), "job status").status
    except KeyboardInterrupt:
        _cancel(workspace, name, url)
        raise
    return status, error


def studio_url(job) -> str | None:
    url = getattr(job, "studio_url", None)
    if url:
        return url
    service = (getattr(job, "services", None) or {}).get("Studio")
    return getattr(service, "endpoint", None)


def job_error_text(exc: Exception) -> str:
    """azure-ai-ml reports a failed job as 'Exception : <json>'; keep the message, on one line."""
    text = str(getattr(exc, "message", None) or exc)
    body = text.split("Exception :", 1)[-1].strip()
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(text.split())[:2000]
    if isinstance(data, dict):
        inner = data.get("error", data)
        body = inner.get("message") or json.dumps(inner) if isinstance(inner, dict) else str(inner)
    return " ".join(str(body).split())[:2000]


def _cancel(workspace, name: str, url: str | None) -> None:
    log.warning("interrupted: cancelling AzureML job %s", name)
    try:
        poller = workspace.retry(lambda: workspace.ml_client.jobs.begin_cancel(name), "cancel job")
        poller.result(timeout=CANCEL_WAIT_S)
        log.warning("AzureML job %s cancelled", name)
    except Exception as exc:  # the user still learns where to cancel it by hand
        log.error("could not cancel AzureML job %s (%s); cancel it in the studio: %s", name, exc, url)


def _fetch_output(workspace, container, draft: JobDraft, output_dir: Path,
                  keep_remote: bool = False) -> tuple[dict | None, dict]:
    """Download ``out/`` into ``output_dir`` (``keep_remote``: only the pass's artifacts); returns ``result.json``
    and ``bindings.json`` (read, not kept)."""
    remote = draft.output_path().rstrip("/")
    with tempfile.TemporaryDirectory(prefix="olivine-aml-result-") as scratch:
        try:
            result_file = workspace.retry(lambda: blobs.download_blob(container, f"{remote}/result.json",
                                                                      Path(scratch) / "result.json"), "download")
            bindings_file = workspace.retry(lambda: blobs.download_blob(container, f"{remote}/bindings.json",
                                                                        Path(scratch) / "bindings.json"), "download")
        except Exception as exc:  # a job that died before run-pass wrote them
            log.debug("no result for job %s: %s", draft.name, exc)
            return None, {}
        result = json.loads(result_file.read_text())
        bound = json.loads(bindings_file.read_text())
    if "error" not in result and keep_remote:
        artifacts = (result.get("report") or {}).get("artifacts") or {}
        outputs.download_artifacts(workspace, container, f"{remote}/{OUT_SUBDIR}", artifacts, output_dir)
    elif "error" not in result:
        workspace.retry(lambda: blobs.download_prefix(container, f"{remote}/{OUT_SUBDIR}", output_dir), "download")
    return result, bound


def _local_paths(result: dict[str, Any], draft: JobDraft, bound: dict[str, str]) -> dict[str, Any]:
    """Paths the job reported (its mount points) mapped back to this machine's folders."""
    mapping = {}
    for token, local in draft.local_paths.items():
        base, _, rest = token.partition("}}")
        actual = bound.get(base + "}}")
        if actual:
            mapping[actual + rest] = local
    return rebase_spec(result, dict(sorted(mapping.items(), key=lambda item: -len(item[0]))))


def _left_remote(workspace, container, datastore: str, result, draft: JobDraft, output_dir: Path,
                 name: str) -> dict | None:
    """The job-input description of the model the job left in its output; None if it is not there."""
    model = (result.get("model") or {}).get("path")
    if not model:
        return None
    try:
        relative = Path(model).resolve().relative_to(Path(output_dir).resolve()).as_posix()
    except ValueError:
        return None
    remote = f"{draft.output_path()}{OUT_SUBDIR}" + ("" if relative == "." else f"/{relative}")
    return workspace.retry(lambda: outputs.describe(container, datastore, remote, name), "look for output")


def _remember_outputs(container, result, draft: JobDraft, output_dir: Path, memo) -> None:
    model = (result.get("model") or {}).get("path")
    if not model or not Path(model).exists():
        return
    try:
        relative = Path(model).resolve().relative_to(Path(output_dir).resolve()).as_posix()
    except ValueError:
        return
    remote = f"{draft.output_path()}{OUT_SUBDIR}" + ("" if relative == "." else f"/{relative}")
    uploads.record_output(container, Path(model), remote + ("" if Path(model).is_file() else "/"), memo)


def _failure(label: str, name: str, status: str, error: str | None, url: str | None) -> str:
    message = f"{label}: AzureML job {name} {status.lower()}"
    if error:
        message += f": {error}"
    return message + (f" (logs: {url})" if url else "")
