"""Job inputs addressed by content: a local folder goes up once, later jobs reuse the copy.

Datastore layout (under the system's datastore, ``workspaceblobstore`` by default)::

    olivine/uploads/<digest>/...   uploaded inputs
    olivine/jobs/<job name>/       a job's output (spec.json, result.json, out/)
    olivine/checkpoints/<key>/     a pass's training checkpoints, keyed by its cache key (deleted once it finishes)
    olivine/index/<digest>.json    where content with that digest already is (an upload or a job output)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olivine_azureml import blobs

UPLOAD_ROOT = "olivine/uploads"
JOBS_ROOT = "olivine/jobs"
CHECKPOINTS_ROOT = "olivine/checkpoints"
INDEX_ROOT = "olivine/index"
log = logging.getLogger("olivine.azureml")


@dataclass
class Upload:
    """One job input: a local file or folder and its content digest (None: made by an earlier dry-run job)."""

    name: str
    local: Path
    digest: str | None
    is_file: bool
    note: str = ""
    # Read where it is (a registry model, a datastore path): {"uri", "type", "what"[, "layout"]}; never uploaded.
    remote: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        if self.remote:
            return "mlflow_model" if self.remote.get("layout") == "mlflow" else self.remote["type"]
        return "uri_file" if self.is_file else "uri_folder"

    def default_path(self) -> str:
        """Where a fresh upload lands in the datastore."""
        base = f"{UPLOAD_ROOT}/{self.digest or 'pending'}"
        return f"{base}/{self.local.name}" if self.is_file else f"{base}/"

    def as_json(self, datastore: str) -> dict[str, Any]:
        local = str(self.local) if self.digest else None
        return {"input": self.name, "type": self.kind, "local_path": local, "digest": self.digest,
                "size_bytes": _size(self.local), "target": datastore_uri(datastore, self.default_path()),
                **({"note": self.note} if self.note else {})}


def datastore_uri(datastore: str, path: str) -> str:
    return f"azureml://datastores/{datastore}/paths/{path}"


def digest_of(path: Path, memo: dict[str, Any] | None = None) -> str:
    from olivine import content_key

    return content_key(path, memo)[:40]


def movement(upload: Upload, datastore: str) -> dict[str, Any]:
    """What happens to one input before the job runs, as the dry run tells it."""
    if upload.remote:
        return {"input": upload.name, "type": upload.kind, "from": upload.remote["uri"],
                "what": upload.remote.get("what"), "moves": "mounted by AzureML in the job; nothing passes "
                                                            "through this machine"}
    if upload.note:
        return {"input": upload.name, "type": upload.kind, "from": upload.note,
                "moves": "the earlier job's output, read where it is"}
    return {"input": upload.name, "type": upload.kind, "from": str(upload.local), "size_bytes": _size(upload.local),
            "moves": f"uploaded to {datastore_uri(datastore, upload.default_path())} unless the same content is "
                     "already on the datastore"}


def resolve(container, upload: Upload) -> str:
    """The datastore path holding ``upload``'s content: an earlier copy when one exists, else a new upload."""
    record = blobs.read_json(container, f"{INDEX_ROOT}/{upload.digest}.json")
    if record and _present(container, record["path"], upload.is_file):
        log.info("input %s: reusing %s (same content)", upload.name, record["path"])
        return record["path"]
    prefix = f"{UPLOAD_ROOT}/{upload.digest}"
    log.info("input %s: uploading %s (%s)", upload.name, upload.local, _human(_size(upload.local)))
    blobs.upload_tree(container, upload.local, prefix)
    path = upload.default_path()
    blobs.write_json(container, f"{INDEX_ROOT}/{upload.digest}.json", {"path": path, "kind": upload.kind})
    return path


def record_output(container, local: Path, remote_path: str, memo: dict[str, Any] | None = None) -> str:
    """Remember that ``local``'s content also lives at ``remote_path`` so a later job needs no upload."""
    digest = digest_of(local, memo)
    kind = "uri_file" if local.is_file() else "uri_folder"
    blobs.write_json(container, f"{INDEX_ROOT}/{digest}.json", {"path": remote_path, "kind": kind})
    return digest


def _present(container, path: str, is_file: bool) -> bool:
    return blobs.blob_exists(container, path) if is_file else blobs.has_prefix(container, path)


def _size(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
