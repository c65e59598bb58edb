"""Blob containers of datastores: upload a tree, download a prefix, small JSON records.

The credential (account key, SAS or token credential) stays inside ``BlobLocation`` and is never
part of its ``repr``, a log line or a file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("olivine.azureml")
EMULATOR_ACCOUNT = "devstoreaccount1"
CONCURRENCY = 4  # parallel block transfers of one large file (model weights)


@dataclass
class BlobLocation:
    """A container: by account URL (+ credential) or by connection string."""

    container: str
    account_url: str | None = None
    credential: Any = field(default=None, repr=False)
    connection_string: str | None = field(default=None, repr=False)

    def container_client(self):
        from azure.storage.blob import ContainerClient

        if self.connection_string:
            return ContainerClient.from_connection_string(self.connection_string, self.container)
        return ContainerClient(self.account_url, self.container, credential=self.credential)


def account_url(account_name: str, protocol: str = "https", endpoint: str = "core.windows.net") -> str:
    """The blob endpoint of an account; the storage emulator (Azurite) is addressed by path, not host."""
    if account_name == EMULATOR_ACCOUNT:
        return f"{protocol}://{endpoint}/{account_name}"
    return f"{protocol}://{account_name}.blob.{endpoint}"


def upload_tree(container, local: Path, prefix: str) -> int:
    """Upload a file or every file under a folder to ``prefix/<relative path>``; returns the bytes sent."""
    local = Path(local)
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    sent = 0
    for file in files:
        name = file.name if file == local else file.relative_to(local).as_posix()
        with open(file, "rb") as handle:
            container.upload_blob(f"{prefix.rstrip('/')}/{name}", handle, overwrite=True, max_concurrency=CONCURRENCY)
        sent += file.stat().st_size
    return sent


def download_prefix(container, prefix: str, dest: Path) -> list[Path]:
    """Download every blob under ``prefix/`` to ``dest/<relative name>``; returns the files written."""
    prefix = prefix.strip("/") + "/"
    written = []
    for blob in container.list_blobs(name_starts_with=prefix):
        if blob.name.endswith("/"):
            continue
        target = Path(dest) / blob.name[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        _download_file(container, blob.name, target)
        written.append(target)
    return written


def download_blob(container, name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    _download_file(container, name, target)
    return target


def blob_exists(container, name: str) -> bool:
    return container.get_blob_client(name).exists()


def has_prefix(container, prefix: str) -> bool:
    return next(iter(container.list_blobs(name_starts_with=prefix.strip("/") + "/")), None) is not None


def delete_prefix(container, prefix: str) -> int:
    """Delete every blob under ``prefix/``; returns how many."""
    names = [b.name for b in container.list_blobs(name_starts_with=prefix.strip("/") + "/")]
    for name in names:
        container.delete_blob(name)
    return len(names)


def read_json(container, name: str) -> dict[str, Any] | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return json.loads(container.download_blob(name).readall())
    except ResourceNotFoundError:
        return None


def write_json(container, name: str, value: dict[str, Any]) -> None:
    container.upload_blob(name, json.dumps(value, indent=2).encode(), overwrite=True)


def _download_file(container, name: str, target: Path) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    with open(partial, "wb") as handle:
        container.download_blob(name, max_concurrency=CONCURRENCY).readinto(handle)
    os.replace(partial, target)
