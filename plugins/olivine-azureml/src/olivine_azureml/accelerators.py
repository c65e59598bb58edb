"""Execution providers an AzureML job can offer: checked here, since the job's machine cannot be asked.

Jobs run in Linux containers, so a provider that exists on another OS only (DirectML, CoreML) can
never be had there, and a misspelled provider name would only fail inside a job, after the uploads.
"""

from __future__ import annotations

from olivine import ConfigError, did_you_mean
from olivine_runtimes import providers

JOB_PLATFORM = "Linux"


def check_providers(accelerators, path: str) -> None:
    """``accelerators``: the system's AcceleratorConfig list; ``path``: the system's config path."""
    known = providers.known_providers()
    for i, accelerator in enumerate(accelerators):
        for j, name in enumerate(accelerator.providers()):
            key = f"{path}.accelerators[{i}].execution_providers[{j}]"
            if name not in known:
                raise ConfigError(key, f"unknown execution provider {name!r}",
                                  did_you_mean(name, known) or f"known: {', '.join(known)}")
            needed = providers.PLATFORM_ONLY.get(name, JOB_PLATFORM)
            if needed != JOB_PLATFORM:
                raise ConfigError(key, f"{name} runs on {needed} only, and AzureML jobs run in Linux containers",
                                  "use CUDAExecutionProvider on a GPU cluster, or a system on a machine with "
                                  f"{needed} for {name}")
