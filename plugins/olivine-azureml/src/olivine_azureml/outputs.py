"""Pass outputs left in the datastore: read by later jobs where they are, downloaded only when needed.

When every consumer of a pass's output is a later job of the same AzureML system, only ``result.json``
and the pass's artifacts come back; the model stays under the job's output and the cache entry refers
to it (``metadata["remote"]``, the same description a registry model or datastore path gets), which
the next job spec mounts as an input. The engine asks for the files (``download``) before anything on
this machine reads the model, and re-runs the pass when they are gone (``exists``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from olivine_azureml import blobs
from olivine_azureml.remote import datastore_path
from olivine_azureml.uri import DatastorePath, parse

log = logging.getLogger("olivine.azureml")


def describe(container, datastore: str, remote_path: str, job_name: str) -> dict[str, Any]:
    """The job-input description of the model at ``remote_path`` (a blob is a file, a prefix a folder)."""
    is_file = blobs.blob_exists(container, remote_path.rstrip("/"))
    path = remote_path.rstrip("/") if is_file else remote_path.rstrip("/") + "/"
    described = datastore_path(datastore, path)
    # datastore_path guesses from the name; the datastore knows (a model file without an extension)
    described["type"] = "uri_file" if is_file else "uri_folder"
    return {**described, "what": f"output of AzureML job {job_name}"}


def download_artifacts(workspace, container, remote_out: str, artifacts: dict[str, str], output_dir: Path) -> None:
    """The files a pass reported (paths relative to its output folder), without the model."""
    for relative in artifacts.values():
        name = f"{remote_out}/{relative}".rstrip("/")
        if workspace.retry(lambda name=name: blobs.blob_exists(container, name), "look for artifact"):
            workspace.retry(lambda name=name, relative=relative: blobs.download_blob(
                container, name, output_dir / relative), "download artifact")
        else:
            workspace.retry(lambda name=name, relative=relative: blobs.download_prefix(
                container, name + "/", output_dir / relative), "download artifact")


def exists(workspace, remote: dict[str, Any]) -> bool:
    ref = _datastore_path(remote)
    container = workspace.container(ref.datastore)
    if remote.get("type") == "uri_file":
        return bool(workspace.retry(lambda: blobs.blob_exists(container, ref.path), "look for output"))
    return bool(workspace.retry(lambda: blobs.has_prefix(container, ref.path), "look for output"))


def download(workspace, remote: dict[str, Any], dest: Path) -> None:
    ref = _datastore_path(remote)
    container = workspace.container(ref.datastore)
    log.info("downloading %s (%s)", remote.get("what", "output"), remote["uri"])
    if remote.get("type") == "uri_file":
        workspace.retry(lambda: blobs.download_blob(container, ref.path, dest), "download output")
    elif not workspace.retry(lambda: blobs.download_prefix(container, ref.path, dest), "download output"):
        raise FileNotFoundError(f"nothing at {remote['uri']}")


def _datastore_path(remote: dict[str, Any]) -> DatastorePath:
    ref = parse(remote["uri"], "metadata.remote.uri")
    if not isinstance(ref, DatastorePath):
        raise ValueError(f"{remote['uri']} is not a datastore path")
    return ref
