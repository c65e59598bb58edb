"""Execution-provider health: which onnxruntime and onnxruntime-genai flavours are installed, what
execution providers they bring, which of them conflict, and which package provides a provider.

onnxruntime, onnxruntime-gpu, onnxruntime-directml, ... all install the one import package
``onnxruntime`` (and the onnxruntime-genai flavours all install ``onnxruntime_genai``), so a second
flavour silently overwrites the first. Everything here answers from package metadata; only
``available_providers`` imports the runtime, and only when asked.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ORT = "onnxruntime"
GENAI = "onnxruntime_genai"
RUNTIME_LABELS = {ORT: "onnxruntime", GENAI: "onnxruntime-genai"}


@dataclass(frozen=True)
class Flavour:
    """One distribution of onnxruntime or onnxruntime-genai and the providers it is built with."""

    distribution: str
    namespace: str
    label: str
    providers: tuple[str, ...]


FLAVOURS: tuple[Flavour, ...] = (
    Flavour("onnxruntime", ORT, "CPU",
            ("CPUExecutionProvider", "AzureExecutionProvider", "CoreMLExecutionProvider")),
    Flavour("onnxruntime-gpu", ORT, "CUDA",
            ("CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider", "AzureExecutionProvider")),
    Flavour("onnxruntime-directml", ORT, "DirectML", ("DmlExecutionProvider", "CPUExecutionProvider")),
    Flavour("onnxruntime-openvino", ORT, "OpenVINO", ("OpenVINOExecutionProvider", "CPUExecutionProvider")),
    Flavour("onnxruntime-qnn", ORT, "QNN", ("QNNExecutionProvider", "CPUExecutionProvider")),
    Flavour("onnxruntime-genai", GENAI, "CPU", ("CPUExecutionProvider",)),
    Flavour("onnxruntime-genai-cuda", GENAI, "CUDA", ("CUDAExecutionProvider", "CPUExecutionProvider")),
    Flavour("onnxruntime-genai-directml", GENAI, "DirectML", ("DmlExecutionProvider", "CPUExecutionProvider")),
)
FLAVOUR_BY_NAME = {f.distribution: f for f in FLAVOURS}

# The package to install for a provider: the first flavour of that runtime that lists it.
PROVIDER_PACKAGES: dict[str, dict[str, str]] = {ORT: {}, GENAI: {}}
for _flavour in FLAVOURS:
    for _provider in _flavour.providers:
        PROVIDER_PACKAGES[_flavour.namespace].setdefault(_provider, _flavour.distribution)

# Providers that exist on one OS only, whatever the installed flavour says.
PLATFORM_ONLY = {"DmlExecutionProvider": "Windows", "CoreMLExecutionProvider": "macOS"}

# onnxruntime-genai runs these through onnxruntime's generic provider API: the genai CPU build
# serves them when the installed onnxruntime flavour has them.
GENAI_VIA_ORT = ("QNNExecutionProvider", "OpenVINOExecutionProvider", "WebGpuExecutionProvider")
GENAI_CHECKS = {"CUDAExecutionProvider": "is_cuda_available", "DmlExecutionProvider": "is_dml_available",
                "QNNExecutionProvider": "is_qnn_available", "OpenVINOExecutionProvider": "is_openvino_available",
                "WebGpuExecutionProvider": "is_webgpu_available"}
# The onnxruntime flavour each onnxruntime-genai flavour is built against.
GENAI_PAIRS = {"onnxruntime-genai": "onnxruntime", "onnxruntime-genai-cuda": "onnxruntime-gpu",
               "onnxruntime-genai-directml": "onnxruntime-directml"}


@dataclass(frozen=True)
class Installed:
    """An installed flavour: its distribution name and version."""

    flavour: Flavour
    version: str

    @property
    def name(self) -> str:
        return self.flavour.distribution

    def as_json(self) -> dict[str, Any]:
        return {"distribution": self.name, "version": self.version, "flavour": self.flavour.label,
                "runtime": RUNTIME_LABELS[self.flavour.namespace],
                "provides": [p for p in self.flavour.providers if PLATFORM_ONLY.get(p, platform_name()) ==
                             platform_name()]}


@dataclass(frozen=True)
class Conflict:
    """Two or more flavours installed into one import namespace, and how to fix it."""

    namespace: str
    distributions: tuple[str, ...]
    keep: str
    paired_with: str | None = None

    @property
    def message(self) -> str:
        names = ", ".join(self.distributions[:-1]) + f" and {self.distributions[-1]}"
        text = (f"{names} are installed together; they share the import package '{self.namespace}', "
                f"so the one installed last has silently overwritten the others")
        if self.paired_with:
            text += f" (keep {self.keep}: the installed {self.paired_with} is built against it)"
        return text

    @property
    def fix(self) -> str:
        # Uninstalling any flavour deletes files the others share, so the kept one is reinstalled.
        return f"pip uninstall -y {' '.join(self.distributions)} && pip install {self.keep}"

    def as_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "distributions": list(self.distributions), "keep": self.keep,
                "paired_with": self.paired_with,
                "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class ProviderProblem:
    """Why a provider is not available here, and what to do about it."""

    provider: str
    message: str
    hint: str | None = None


def installed(distributions: Iterable[Any] | None = None) -> list[Installed]:
    """Installed onnxruntime and onnxruntime-genai flavours, in table order.

    ``distributions`` (objects with ``metadata["Name"]`` and ``version``, as importlib.metadata
    gives) replaces the environment's packages, for tests.
    """
    if distributions is None:
        versions = {name: _version(name) for name in FLAVOUR_BY_NAME}
    else:
        versions = {normalize(d.metadata["Name"]): d.version for d in distributions}
    return [Installed(f, version) for f in FLAVOURS if (version := versions.get(f.distribution))]


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def in_namespace(items: list[Installed], namespace: str) -> list[Installed]:
    return [item for item in items if item.flavour.namespace == namespace]


def installed_version(namespace: str) -> str | None:
    """The version of the installed flavour of a runtime (CPU, CUDA or DirectML alike; the first in
    table order when several are), or None when none is."""
    flavours = in_namespace(installed(), namespace)
    return flavours[0].version if flavours else None


def conflicts(items: list[Installed] | None = None) -> list[Conflict]:
    """One Conflict per import namespace holding more than one flavour."""
    items = installed() if items is None else items
    found = []
    for namespace in (ORT, GENAI):
        names = tuple(item.name for item in in_namespace(items, namespace))
        if len(names) > 1:
            found.append(Conflict(namespace, names, *_flavour_to_keep(namespace, names, items)))
    return found


def _flavour_to_keep(namespace: str, names: tuple[str, ...], items: list[Installed]) -> tuple[str, str | None]:
    """The flavour the installed genai flavour is built against, else the most specific (non-CPU) one."""
    if namespace == ORT:
        for item in in_namespace(items, GENAI):
            pair = GENAI_PAIRS.get(item.name)
            if pair in names:
                return pair, item.name
    accelerated = [name for name in names if FLAVOUR_BY_NAME[name].label != "CPU"]
    return (accelerated or list(names))[0], None


def describe(items: list[Installed] | None = None, namespace: str = ORT) -> str:
    """``onnxruntime (CPU)``, ``onnxruntime and onnxruntime-gpu (conflicting)`` or ``no onnxruntime``."""
    items = in_namespace(installed() if items is None else items, namespace)
    if not items:
        return f"no {RUNTIME_LABELS[namespace]}"
    if len(items) > 1:
        return f"{' and '.join(item.name for item in items)} (conflicting)"
    return f"{items[0].name} ({items[0].flavour.label})"


def platform_name() -> str:
    system = platform.system()
    return {"Darwin": "macOS", "": "an unknown OS"}.get(system, system)


def package_for(provider: str, namespace: str = ORT) -> str | None:
    """The distribution that provides ``provider`` for a runtime (``onnxruntime-gpu`` for CUDA)."""
    return PROVIDER_PACKAGES[namespace].get(provider)


def known_providers() -> list[str]:
    return sorted({p for table in PROVIDER_PACKAGES.values() for p in table} | set(GENAI_VIA_ORT))


def provider_problem(provider: str, namespace: str = ORT,
                     items: list[Installed] | None = None) -> ProviderProblem | None:
    """None when ``provider`` can run here for that runtime, else what is wrong and the fix.

    Decided from metadata; onnxruntime is imported only when metadata cannot tell (conflicting
    flavours, a provider name this table does not know).
    """
    items = installed() if items is None else items
    if namespace == GENAI:
        return _genai_problem(provider, items)
    return _ort_problem(provider, items)


def _ort_problem(provider: str, items: list[Installed]) -> ProviderProblem | None:
    flavours = in_namespace(items, ORT)
    package = package_for(provider, ORT)
    if package is None:
        return _unknown_provider_problem(provider, flavours)
    wrong_os = _platform_problem(provider)
    if wrong_os is not None:
        return wrong_os
    if not flavours:
        return ProviderProblem(provider, f"{provider} needs onnxruntime, which is not installed",
                               f"pip install {package}")
    if len(flavours) > 1:
        available = available_providers(ORT)
        if available is not None and provider in available:
            return None
        return _conflict_problem(provider, items, ORT)
    if provider in flavours[0].flavour.providers:
        return None
    return _wrong_flavour(provider, package, flavours[0])


def _genai_problem(provider: str, items: list[Installed]) -> ProviderProblem | None:
    flavours = in_namespace(items, GENAI)
    package = package_for(provider, GENAI) or "onnxruntime-genai"
    if not flavours:
        return ProviderProblem(provider, f"{provider} needs onnxruntime-genai, which is not installed",
                               f"pip install {package}")
    if provider not in PROVIDER_PACKAGES[GENAI]:
        # The genai CPU build reaches other providers through the installed onnxruntime.
        return _ort_problem(provider, items)
    wrong_os = _platform_problem(provider)
    if wrong_os is not None:
        return wrong_os
    if len(flavours) > 1:
        return _conflict_problem(provider, items, GENAI)
    if provider in flavours[0].flavour.providers:
        return None
    return _wrong_flavour(provider, package, flavours[0])


def _platform_problem(provider: str) -> ProviderProblem | None:
    needed = PLATFORM_ONLY.get(provider)
    if needed is None or needed == platform_name():
        return None
    return ProviderProblem(provider, f"{provider} runs on {needed} only; this machine is {platform_name()}",
                           "build for it here and evaluate on that platform, or pick a provider this machine has")


def _conflict_problem(provider: str, items: list[Installed], namespace: str) -> ProviderProblem:
    conflict = next(c for c in conflicts(items) if c.namespace == namespace)
    return ProviderProblem(provider, f"{provider} cannot be relied on: {conflict.message}", f"run: {conflict.fix}")


def _wrong_flavour(provider: str, package: str, current: Installed) -> ProviderProblem:
    return ProviderProblem(
        provider, f"{provider} is not available: it comes with {package}, and this environment has "
        f"{current.name} ({current.flavour.label})",
        f"pip uninstall -y {current.name} && pip install {package}, or keep {package} in its own venv "
        f"and use a PythonEnvironment system")


def _unknown_provider_problem(provider: str, flavours: list[Installed]) -> ProviderProblem | None:
    from olivine import did_you_mean

    available = available_providers(ORT) if flavours else None
    if available is not None and provider in available:
        return None
    names = set(known_providers()) | set(_all_ort_providers() or [])
    if provider in names:
        return ProviderProblem(provider, f"{provider} is not available here (installed: {describe(flavours)})",
                               "install the onnxruntime build that provides it")
    return ProviderProblem(provider, f"unknown execution provider {provider!r}",
                           did_you_mean(provider, names) or f"known: {', '.join(sorted(names))}")


def available_providers(namespace: str = ORT) -> list[str] | None:
    """Providers the installed runtime reports, importing it; None when it does not import."""
    try:
        if namespace == GENAI:
            return _genai_available()
        import onnxruntime

        return list(onnxruntime.get_available_providers())
    except Exception:  # noqa: BLE001 - a broken install is reported by the caller, not raised
        return None


def import_error(namespace: str = ORT) -> str | None:
    """Why the runtime does not import (None when it does)."""
    try:
        __import__(namespace)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return f"{type(exc).__name__}: {exc}"
    return None


def _genai_available() -> list[str]:
    import onnxruntime_genai as og

    ort_available = set(available_providers(ORT) or [])
    found = ["CPUExecutionProvider"]
    for provider, check in GENAI_CHECKS.items():
        probe = getattr(og, check, None)
        if probe is None or not probe():
            continue
        if provider in GENAI_VIA_ORT and provider not in ort_available:
            continue
        found.append(provider)
    return found


def _all_ort_providers() -> list[str] | None:
    try:
        import onnxruntime

        return list(onnxruntime.get_all_providers())
    except Exception:  # noqa: BLE001
        return None


def problems_for(requests: list[list[str]]) -> list[dict[str, str | None] | None]:
    """``provider_problem`` for each ``[provider, namespace]`` as JSON-ready data: what an
    out-of-process system asks its own interpreter (``python -c``) before any work."""
    items = installed()
    answers: list[dict[str, str | None] | None] = []
    for provider, namespace in requests:
        problem = provider_problem(provider, namespace, items)
        answers.append(None if problem is None else {"message": problem.message, "hint": problem.hint})
    return answers
