"""Can DirectML run here? Decided from the platform and the installed onnxruntime flavours, without
importing onnxruntime (olivine_runtimes.providers imports it only to settle conflicting flavours)."""

from __future__ import annotations

from collections.abc import Iterable

from olivine_runtimes import providers

DML = "DmlExecutionProvider"
CPU = "CPUExecutionProvider"
PACKAGES = {providers.ORT: "onnxruntime-directml", providers.GENAI: "onnxruntime-genai-directml"}


def runtimes_for(formats: Iterable[str]) -> list[str]:
    """onnxruntime always; onnxruntime-genai too when onnx-genai models are evaluated."""
    formats = set(formats)
    return [providers.ORT, providers.GENAI] if "onnx-genai" in formats else [providers.ORT]


def unavailable(formats: Iterable[str] = ()) -> str | None:
    """None when DirectML runs here for these model formats, else the sentence that says why not."""
    items = providers.installed()
    runtimes = runtimes_for(formats)
    if all(providers.provider_problem(DML, ns, items) is None for ns in runtimes):
        return None
    needed = " and ".join(PACKAGES[ns] for ns in runtimes)
    present = " and ".join(providers.describe(items, ns) for ns in runtimes)
    return f"DirectML runs on Windows with {needed}; this machine is {providers.platform_name()} with {present}"


def how_to_fix(formats: Iterable[str] = ()) -> str:
    """What the user can do about ``unavailable``: the pip command on Windows, the fallback elsewhere."""
    runtimes = runtimes_for(formats)
    if providers.platform_name() != "Windows":
        return ("set fallback_to_cpu: true to build for DirectML here and evaluate on CPU, "
                "or run the workflow on a Windows machine")
    items = providers.installed()
    for conflict in providers.conflicts(items):
        if conflict.namespace in runtimes:
            return f"run: {conflict.fix}"
    present = [item.name for ns in runtimes for item in providers.in_namespace(items, ns)
               if item.name not in PACKAGES.values()]
    install = " ".join(PACKAGES[ns] for ns in runtimes)
    return f"pip uninstall -y {' '.join(present)} && pip install {install}" if present else f"pip install {install}"


def cpu_problem(formats: Iterable[str] = ()) -> providers.ProviderProblem | None:
    """Why a CPU fallback cannot evaluate these formats here either (no onnxruntime at all)."""
    items = providers.installed()
    for ns in runtimes_for(formats):
        problem = providers.provider_problem(CPU, ns, items)
        if problem is not None:
            return problem
    return None
