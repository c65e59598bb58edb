"""Entry point of an olivine AzureML job (copied into the job's code snapshot as ``olivine_job.py``).

It binds the spec's ``${{inputs.NAME}}`` / ``${{outputs.output}}`` placeholders to the folders the job
has mounted, writes the bound spec into the output folder and runs ``olivine run-pass --spec`` on it;
``result.json`` lands beside it and comes back to the client. With ``--checkpoints`` the pass's checkpoint
folder is that mounted output (a datastore path keyed by the pass's cache key), so a preempted job leaves its
checkpoints behind; ``--resume-from`` (the same path, mounted read-only when an earlier attempt left some)
fills that folder first when the output mount does not show them, and the pass resumes from the newest intact
one. With ``--distributed`` (a LoRA pass over several nodes, a PyTorch-distribution job) this node's rank and
the rendezvous come from what AzureML sets (MASTER_ADDR, MASTER_PORT, NODE_RANK) into the pass's ``distributed``
section, and olivine's launcher starts this node's processes; the node of rank 0 writes the outputs, the others
write theirs to a scratch folder. With ``OLIVINE_HF_TOKEN_KEYVAULT`` set,
the Hugging Face token is read from that Key Vault with the compute's identity and given to
``olivine run-pass`` as ``HF_TOKEN``; it is never printed nor written anywhere.

Needs only the standard library and olivine (plus azure-identity and azure-keyvault-secrets for the
token), so it runs in any environment where olivine is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

OUTPUT_TOKEN = "${{outputs.output}}"
WORKFLOW_TOKEN = "${{olivine.workflow_dir}}"
CHECKPOINT_TOKEN = "${{olivine.checkpoints}}"


def input_token(name: str) -> str:
    return "${{inputs." + name + "}}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="olivine_job.py", description="Run one olivine pass in an AzureML job.")
    parser.add_argument("--spec", required=True, type=Path, help="spec.json with ${{...}} placeholders")
    parser.add_argument("--output", required=True, type=Path, help="the job's output folder")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH", help="a mounted input")
    parser.add_argument("--model-input", action="append", default=[], metavar="NAME",
                        help="an input mounted from a registry or workspace model: find its Hugging Face folder")
    parser.add_argument("--checkpoints", type=Path, help="the pass's checkpoint folder (a mounted output)")
    parser.add_argument("--resume-from", type=Path, help="checkpoints an earlier attempt left (a mounted input)")
    parser.add_argument("--distributed", action="store_true",
                        help="one node of a PyTorch-distribution job: its rank and rendezvous from the environment")
    return parser.parse_args(argv)


def node_settings(env: dict[str, str]) -> dict[str, object]:
    """This node's place in the job, from what AzureML's PyTorch distribution sets; raises ValueError naming
    what is missing."""
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not env.get(name)]
    rank = env.get("NODE_RANK") or env.get("RANK")  # one process per node: RANK is the node's rank
    if rank is None:
        missing.append("NODE_RANK")
    if missing:
        raise ValueError(f"{', '.join(missing)} not set: the job was not started with a PyTorch distribution")
    settings: dict[str, object] = {"rdzv_endpoint": f"{env['MASTER_ADDR']}:{env['MASTER_PORT']}",
                                   "node_rank": int(str(rank))}
    if env.get("AZUREML_RUN_ID"):  # the same on every node of the job
        settings["rdzv_id"] = env["AZUREML_RUN_ID"]
    return settings


def distributed_spec(spec: dict, settings: dict[str, object]) -> dict:
    config = spec["config"]
    return {**spec, "config": {**config, "distributed": {**(config.get("distributed") or {}), **settings}}}


def restore_checkpoints(source: Path, target: Path) -> list[str]:
    """Copy the finished checkpoints (``step-*``) of an earlier attempt that ``target`` does not show; returns
    their names. Intact or not is the pass's to judge (it verifies each checkpoint's hashes on resume)."""
    copied = []
    for folder in sorted(source.glob("step-*")) if source.is_dir() else []:
        if folder.is_dir() and (folder / "state.json").is_file() and not (target / folder.name).exists():
            shutil.copytree(folder, target / folder.name)
            copied.append(folder.name)
    return copied


def model_folder(mount: Path, scratch: Path) -> Path:
    """The Hugging Face folder of a mounted model: an MLflow model's parts gathered as symlinks into
    ``scratch`` (the mount is read-only, and copying 7 GB of weights would only cost time), else the
    shallowest folder holding config.json."""
    from olivine import mlflow_hf_parts

    parts = mlflow_hf_parts(mount)
    if parts:
        for part in parts:  # later parts win on equal names, as for a downloaded MLflow model
            for file in sorted(p for p in part.rglob("*") if p.is_file()):
                target = scratch / file.relative_to(part)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink() or target.exists():
                    target.unlink()
                target.symlink_to(file.resolve())
        return scratch
    found = sorted(mount.rglob("config.json"), key=lambda p: len(p.parts))
    return mount if (mount / "config.json").is_file() or not found else found[0].parent


def bindings(args: argparse.Namespace, checkpoints: Path) -> dict[str, str]:
    mapping = {OUTPUT_TOKEN: str(args.output.resolve()), WORKFLOW_TOKEN: str(args.spec.resolve().parent),
               CHECKPOINT_TOKEN: str(checkpoints)}
    for item in args.input:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"olivine_job.py: --input {item!r} is not NAME=PATH")
        mapping[input_token(name)] = str(Path(path).resolve())
    return mapping


def hf_token_env() -> dict[str, str]:
    vault = os.environ.get("OLIVINE_HF_TOKEN_KEYVAULT")
    if not vault:
        return {}
    secret_name = os.environ.get("OLIVINE_HF_TOKEN_SECRET", "hf-token")
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    client_id = os.environ.get("DEFAULT_IDENTITY_CLIENT_ID")
    credential = ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()
    token = SecretClient(f"https://{vault}.vault.azure.net", credential).get_secret(secret_name).value
    if token is None:
        raise ValueError(f"secret {secret_name} has no value")
    print(f"olivine_job.py: Hugging Face token read from Key Vault {vault} (secret {secret_name})", flush=True)
    return {"HF_TOKEN": token, "HUGGING_FACE_HUB_TOKEN": token}


def main(argv: list[str] | None = None) -> int:
    from olivine import rebase_spec

    args = parse_args(argv)
    node: dict[str, object] = {}
    if args.distributed:
        try:
            node = node_settings(dict(os.environ))
        except ValueError as exc:
            args.output.mkdir(parents=True, exist_ok=True)
            return _fail(args.output, str(exc))
        print(f"olivine_job.py: node {node['node_rank']}, rendezvous at {node['rdzv_endpoint']}", flush=True)
        if node["node_rank"] != 0:  # the outputs are rank 0's: the other nodes must not write over them
            args.output = Path(tempfile.mkdtemp(prefix="olivine-node-output-"))
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="olivine-checkpoints-") as scratch:
        checkpoints = args.checkpoints.resolve() if args.checkpoints else Path(scratch)
        checkpoints.mkdir(parents=True, exist_ok=True)
        if args.resume_from:
            restored = restore_checkpoints(args.resume_from, checkpoints)
            print(f"olivine_job.py: checkpoints of an earlier attempt: {', '.join(restored) or 'already in place'}",
                  flush=True)
        mapping = bindings(args, checkpoints)
        for name in args.model_input:
            token = input_token(name)
            mapping[token] = str(model_folder(Path(mapping[token]), Path(tempfile.mkdtemp(prefix=f"olivine-{name}-"))))
        ordered = dict(sorted(mapping.items(), key=lambda item: -len(item[0])))
        spec = rebase_spec(json.loads(args.spec.read_text()), ordered)
        if node:
            spec = distributed_spec(spec, node)
        bound = args.output / "spec.json"
        bound.write_text(json.dumps(spec, indent=2))
        (args.output / "bindings.json").write_text(json.dumps(mapping, indent=2))
        try:
            secret_env = hf_token_env()
        except Exception as exc:  # the message names the vault and the error type, never the value
            return _fail(args.output, f"could not read the Hugging Face token from Key Vault "
                                      f"{os.environ.get('OLIVINE_HF_TOKEN_KEYVAULT')}: {type(exc).__name__}: {exc}")
        command = [sys.executable, "-m", "olivine", "run-pass", "--spec", str(bound)]
        print("olivine_job.py: olivine run-pass --spec", bound, flush=True)
        status = subprocess.call(command, env={**os.environ, **secret_env, "OLIVINE_CHILD": "1"})
        return _node_status(status, args.output) if node.get("node_rank") else status


def _node_status(status: int, output: Path) -> int:
    """A node other than rank 0's ends its pass with "this node's ranks finished": a success for AzureML."""
    result = output / "result.json"
    if status and result.is_file() and json.loads(result.read_text()).get("error_type") == "NodeFinished":
        print("olivine_job.py: this node's ranks finished; the node of rank 0 writes the outputs", flush=True)
        return 0
    return status


def _fail(output: Path, message: str) -> int:
    print(f"olivine_job.py: {message}", file=sys.stderr, flush=True)
    (output / "result.json").write_text(json.dumps({"error": message, "error_type": "JobSetupError"}))
    return 2


if __name__ == "__main__":
    sys.exit(main())
