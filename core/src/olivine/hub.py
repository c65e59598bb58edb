"""Models from the Hugging Face hub: resolve a repo id to a commit, download only what a pass reads.

huggingface_hub does the work and honours the user's setup as transformers does: ``HF_TOKEN`` or the
``hf auth login`` store, ``HF_HOME`` / ``HF_HUB_CACHE``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and
``HF_HUB_DOWNLOAD_TIMEOUT``. Files land in the hub cache (written whole, then renamed: a broken
download leaves nothing a later run could use). Every failure a user can fix is a one-line ConfigError.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from olivine.errors import ConfigError

log = logging.getLogger("olivine.hub")
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# What loading a model, its tokenizer and generation defaults reads; never pickles when safetensors exist.
HF_FILES = ["*.json", "*.safetensors", "tokenizer*", "*.model", "*.tiktoken", "*.txt", "*.jinja"]
ONNX_FILES = ["*.json", "*.onnx", "*.onnx.data", "*.data", "*.onnx_data", "tokenizer*", "*.model", "*.txt",
              "*.jinja"]
PICKLES = ["*.bin"]
CODE = ["*.py"]


@dataclass(frozen=True)
class HubModel:
    """A downloaded hub repo: where its files are and the commit they are from."""

    repo_id: str
    commit: str
    path: Path


def looks_like_repo_id(value: str) -> bool:
    return bool(REPO_ID.match(value)) and not value.startswith((".", "/"))


def download_model(repo_id: str, revision: str | None, path: str, onnx: bool = False,
                   trust_remote_code: bool = False) -> HubModel:
    """The repo's files at ``revision`` (default: main) in the local hub cache; ``path`` names the config key."""
    from huggingface_hub import constants, snapshot_download

    files, unreachable = None, None
    if not constants.HF_HUB_OFFLINE:
        try:
            # Only to choose the files; snapshot_download resolves the revision itself and records
            # refs/<revision> in the cache, which is what a later run without the hub finds.
            files = _files(repo_id, revision)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line naming the config key
            if _is_answer(exc):
                raise _error(exc, repo_id, revision, path) from None
            unreachable = exc  # no answer from the hub: a snapshot already in the cache still serves
    patterns = _patterns(files, onnx, trust_remote_code)
    try:
        folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                        local_files_only=unreachable is not None))
    except Exception as exc:  # noqa: BLE001
        raise _error(unreachable or exc, repo_id, revision, path) from None
    if unreachable is not None:
        log.warning("the hub did not answer (%s): using %s from the local cache", type(unreachable).__name__,
                    repo_id)
    commit = folder.name if COMMIT.match(folder.name) else (revision or "main")
    if not trust_remote_code:
        refuse_remote_code(folder, repo_id, path)
    return HubModel(repo_id, commit, folder)


def _files(repo_id: str, revision: str | None) -> list[str]:
    """The repo's file names at ``revision`` (one API call; gated, missing and unknown revisions fail here)."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, revision=revision)
    return [s.rfilename for s in info.siblings or []]


def _is_answer(exc: Exception) -> bool:
    """The hub answered (not found, gated, bad revision...), as opposed to not answering at all."""
    from huggingface_hub import errors as hf

    return isinstance(exc, hf.HfHubHTTPError | hf.HFValidationError)


def _patterns(files: list[str] | None, onnx: bool, trust_remote_code: bool) -> list[str]:
    patterns = list(ONNX_FILES if onnx else HF_FILES)
    if files is not None and not any(f.endswith(".safetensors") for f in files) and not onnx:
        patterns += PICKLES  # an old repo with pytorch_model.bin only: transformers loads it weights-only
    if trust_remote_code:
        patterns += CODE
    return patterns


def refuse_remote_code(folder: Path, repo_id: str, path: str) -> None:
    """A config whose architecture only the repo's own Python code defines cannot load without running it."""
    config_file = folder / "config.json"
    if not config_file.is_file():
        return
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if not config.get("auto_map"):
        return
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if config.get("model_type") not in CONFIG_MAPPING_NAMES:
        raise ConfigError(path, f"{repo_id} needs its own Python code to load (model_type "
                          f"{config.get('model_type')!r} is not built into transformers)",
                          "set input_model.load_kwargs.trust_remote_code to true if you trust that code")


def _error(exc: Exception, repo_id: str, revision: str | None, path: str) -> ConfigError:
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    at = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(exc, hf.GatedRepoError):
        return ConfigError(path, f"{at} is gated: your account has no access to it yet" if _has_token() else
                           f"{at} is gated and no Hugging Face token is set",
                           "request access on its hub page" if _has_token() else
                           "set HF_TOKEN or run `hf auth login`, after requesting access on its hub page")
    if isinstance(exc, hf.RevisionNotFoundError):
        return ConfigError(path, f"{repo_id} has no revision {revision!r}", "check input_model revision")
    if isinstance(exc, hf.RepositoryNotFoundError):
        return ConfigError(path, f"{at} was not found on the hub, or is private",
                           "check the repo id; for a private repo set HF_TOKEN or run `hf auth login`")
    if isinstance(exc, hf.LocalEntryNotFoundError) or constants.HF_HUB_OFFLINE:
        return ConfigError(path, f"{at} is not in the local Hugging Face cache and the hub cannot be used"
                           + (" (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""),
                           "download it once with network access, or point model_path at a local folder")
    if isinstance(exc, hf.HfHubHTTPError):
        return ConfigError(path, f"the hub refused {at}: {str(exc).splitlines()[0]}")
    return ConfigError(path, f"cannot download {at} from {constants.ENDPOINT}: {type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}",
                       "check the network or HF_ENDPOINT; HF_HUB_OFFLINE=1 uses the local cache only")


def _has_token() -> bool:
    from huggingface_hub import get_token

    return get_token() is not None
