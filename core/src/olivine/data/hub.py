"""Hub datasets (``data_name: owner/name``): the revision pinned to a commit before any pass runs, so the
cache key covers exactly the data read, and hub failures as one-line errors naming the data config."""

from __future__ import annotations

from typing import Any

from olivine.errors import ConfigError


def pin_revision(load: dict[str, Any], workflow_dir: Any, path: str) -> dict[str, Any]:
    """``load_dataset_config`` with ``revision`` set to the commit it names now (unchanged for local data)."""
    from olivine.data.options import LoadOptions

    options = LoadOptions.model_validate(load)
    if not options.is_hub(workflow_dir):
        return load
    from huggingface_hub import HfApi, constants

    if constants.HF_HUB_OFFLINE:
        return load  # datasets reads its own cache; the revision as written keys it
    name = options.data_name
    assert name is not None  # is_hub() holds only for a data_name
    try:
        sha = HfApi().dataset_info(name, revision=options.revision).sha
    except Exception as exc:  # noqa: BLE001 - one line naming the config key
        raise hub_error(exc, name, options.revision, f"{path}.data_name") from None
    return {**load, "revision": sha}


def hub_error(exc: Exception, name: str, revision: str | None, path: str) -> ConfigError:
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    at = f"{name}@{revision}" if revision else name
    if isinstance(exc, hf.GatedRepoError):
        return ConfigError(path, f"dataset {at} is gated", "request access on its hub page, then set HF_TOKEN "
                           "or run `hf auth login`")
    if isinstance(exc, hf.RevisionNotFoundError):
        return ConfigError(path, f"dataset {name} has no revision {revision!r}")
    if isinstance(exc, hf.RepositoryNotFoundError) or type(exc).__name__ == "DatasetNotFoundError":
        return ConfigError(path, f"dataset {at} was not found on the hub, or is private",
                           "check the id; for a private dataset set HF_TOKEN or run `hf auth login`")
    if constants.HF_HUB_OFFLINE:
        return ConfigError(path, f"dataset {at} is not in the local cache (HF_HUB_OFFLINE is set)",
                           "load it once with network access")
    return ConfigError(path, f"cannot load dataset {at} from {constants.ENDPOINT}: {type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}",
                       "check the network or HF_ENDPOINT; HF_HUB_OFFLINE=1 uses the local cache only")
