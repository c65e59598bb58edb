"""A fake azure.ai.ml.MLClient: no Azure workspace is reachable from the machines these tests run on.

Only the MLClient boundary is faked. Jobs submitted to it are validated with azure-ai-ml's own entity
validation and then run on this machine by ``aml_runtime`` like a compute node would: inputs are
downloaded from the datastore (the Azurite storage emulator, through azure-storage-blob), outputs are
uploaded back to the job's output path. Datastores are real azure-ai-ml entities pointing at Azurite.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from aml_runtime import as_command_job, run_command_job
from olivine_azureml import blobs

AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STUDIO = "https://ml.azure.com/runs/{name}?wsid=/subscriptions/sub/resourcegroups/rg/workspaces/ws"


@dataclass
class Azurite:
    host: str
    port: int
    container: str = "azureml"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
                f"BlobEndpoint=http://{self.endpoint}/devstoreaccount1;")

    def container_client(self, name: str | None = None):
        return blobs.BlobLocation(name or self.container, connection_string=self.connection_string).container_client()


@dataclass
class SubmittedJob:
    name: str
    job: object
    status: str = "Queued"
    log: str = ""
    error: str | None = None
    run_dir: Path | None = None

    @property
    def studio_url(self) -> str:
        return STUDIO.format(name=self.name)


class TransientFailures:
    """Raise azure-core's transient errors for the first N calls of an operation."""

    def __init__(self, **counts: int):
        self.counts = dict(counts)
        self.raised: list[str] = []

    def maybe_fail(self, operation: str) -> None:
        from azure.core.exceptions import HttpResponseError, ServiceResponseError

        if self.counts.get(operation, 0) > 0:
            self.counts[operation] -= 1
            self.raised.append(operation)
            if operation == "stream":
                raise ServiceResponseError("connection reset while streaming")
            error = HttpResponseError("the service is busy")
            error.status_code = 503
            raise error


class FakeJobs:
    def __init__(self, client: FakeMLClient):
        self.client = client
        self.submitted: dict[str, SubmittedJob] = {}
        self.cancelled: list[str] = []
        self.interrupt_stream = False
        # Jobs to lose to preemption (the next N with a checkpoints output), each once a checkpoint is written.
        self.preempt = 0
        self._counter = itertools.count(1)

    def create_or_update(self, job, **kwargs):
        self.client.failures.maybe_fail("create_or_update")
        as_command_job(job)._validate()  # azure-ai-ml's own client-side validation, as create_or_update does
        name = job.name or f"job-{next(self._counter)}"
        record = self.submitted[name] = SubmittedJob(name, job)
        if not self.interrupt_stream:
            self._run(record)
        else:
            record.status = "Running"
        return SimpleNamespace(name=name, studio_url=record.studio_url, status="Queued")

    def stream(self, name: str) -> None:
        from azure.ai.ml.exceptions import JobException

        self.client.failures.maybe_fail("stream")
        record = self.submitted[name]
        print(f"RunId: {name}\nWeb View: {record.studio_url}\n")
        if self.interrupt_stream:  # the user presses Ctrl-C; azure-ai-ml wraps it like this
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                message = "The output streaming for the run interrupted."
                raise JobException(message=message, no_personal_data_message=message) from exc
        print(record.log)
        if record.status == "Failed":
            error = {"code": "UserError", "message": record.error}
            raise JobException(message="Exception : \n {} ".format(json.dumps({"error": error}, indent=4)),
                               no_personal_data_message="Exception raised on failed job.")

    def get(self, name: str):
        self.client.failures.maybe_fail("get")
        record = self.submitted[name]
        return SimpleNamespace(name=name, status=record.status, studio_url=record.studio_url)

    def begin_cancel(self, name: str):
        self.cancelled.append(name)
        self.submitted[name].status = "Canceled"
        return SimpleNamespace(result=lambda timeout=None: None, wait=lambda timeout=None: None)

    def _run(self, record: SubmittedJob) -> None:
        record.run_dir = Path(tempfile.mkdtemp(prefix=f"fake-aml-{record.name}-", dir=self.client.node_root))
        command_job = as_command_job(record.job)
        preempt = None
        if self.preempt and "checkpoints" in command_job.outputs:
            self.preempt -= 1
            preempt = _checkpoint_written
        run = run_command_job(record.job, record.run_dir, self.client.mount_input, self.client.node_env,
                              preempt_when=preempt)
        for name, folder in run.outputs.items():  # rw_mount: what was written is on the datastore, killed or not
            _, path = _datastore_path(command_job.outputs[name].path)
            blobs.upload_tree(self.client.azurite.container_client(), folder, path)
        record.log = run.log
        record.status = "Completed" if run.returncode == 0 else "Failed"
        if run.preempted:
            record.error = "The job was preempted: its low-priority node was reclaimed."
        elif run.returncode != 0:
            record.error = f"Execution failed. User process 'bash' exited with status code {run.returncode}."


class FakeDatastores:
    def __init__(self, azurite: Azurite, client: FakeMLClient):
        self.azurite = azurite
        self.client = client
        self.gets: list[tuple[str, bool]] = []

    def get(self, name: str, include_secrets: bool = False):
        from azure.ai.ml.entities import AccountKeyConfiguration, AzureBlobDatastore

        self.client.sign_in()
        self.gets.append((name, include_secrets))
        return AzureBlobDatastore(name=name, account_name="devstoreaccount1", container_name=self.azurite.container,
                                  protocol="http", endpoint=self.azurite.endpoint,
                                  credentials=AccountKeyConfiguration(account_key=AZURITE_KEY))


class FakeModels:
    """``download`` copies a registered folder the way azure-ai-ml lays a download out: ``<path>/<name>/<folder>``."""

    def __init__(self, models: dict[tuple[str, str], Path]):
        self.models = models
        self.downloads: list[tuple[str, str]] = []

    def download(self, name: str, version: str, download_path: str = ".") -> None:
        from azure.core.exceptions import ResourceNotFoundError

        self.downloads.append((name, version))
        if (name, version) not in self.models:
            raise ResourceNotFoundError(f"model {name}:{version} not found")
        source = self.models[(name, version)]
        shutil.copytree(source, Path(download_path) / name / source.name)


class FakeWorkspaces:
    """``get`` answers with an azure-ai-ml Workspace entity whose ``key_vault`` is an ARM id, as the service does."""

    def __init__(self, key_vault: str, client: FakeMLClient):
        self.key_vault = key_vault
        self.client = client
        self.gets: list[str] = []

    def get(self, name: str | None = None, **kwargs):
        from azure.ai.ml.entities import Workspace

        self.client.sign_in()
        self.gets.append(name)
        return Workspace(name=name or "ws", key_vault=f"/subscriptions/sub/resourceGroups/rg/providers/"
                                                       f"Microsoft.KeyVault/vaults/{self.key_vault}")


@dataclass
class FakeMLClient:
    azurite: Azurite
    node_root: Path
    node_env: dict[str, str] = field(default_factory=dict)
    models_by_version: dict[tuple[str, str], Path] = field(default_factory=dict)
    failures: TransientFailures = field(default_factory=TransientFailures)
    key_vault: str = "ws-own-kv"
    # The real credential the client was made with (None: signed in). The service asks it for a token first.
    credential: object = None

    def __post_init__(self):
        self.workspaces = FakeWorkspaces(self.key_vault, self)
        self.mounted_models: list[str] = []
        self.jobs = FakeJobs(self)
        self.datastores = FakeDatastores(self.azurite, self)
        self.models = FakeModels(self.models_by_version)

    def sign_in(self) -> None:
        if self.credential is not None:
            self.credential.get_token("https://management.azure.com/.default")

    def mount_input(self, uri: str, kind: str, folder: Path) -> Path:
        """What ro_mount gives a job: the datastore path's (or a registry model's) content as a local folder or file."""
        if uri.startswith("azureml://registries/"):  # .../registries/REG/models/NAME/versions/V
            parts = uri.rstrip("/").split("/")
            self.mounted_models.append(uri)
            shutil.copytree(self.models_by_version[(parts[-3], parts[-1])], folder)
            return folder
        _, path = _datastore_path(uri)
        container = self.azurite.container_client()
        if kind == "uri_file":
            return blobs.download_blob(container, path, folder / Path(path).name)
        blobs.download_prefix(container, path, folder)
        return folder


def _checkpoint_written(outputs: dict[str, Path]) -> bool:
    return any(outputs["checkpoints"].glob("step-*/state.json"))


def _datastore_path(uri: str) -> tuple[str, str]:
    rest = uri.split("azureml://datastores/", 1)[1]
    datastore, path = rest.split("/paths/", 1)
    return datastore, path
