"""``olivine doctor`` sections for the runtimes this package knows: torch, bitsandbytes, onnxruntime flavours."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from olivine import DoctorCheck

from olivine_runtimes import providers


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


class TorchCheck(DoctorCheck):
    """torch: its version, CUDA build and the GPUs it sees."""

    name = "torch"

    def report(self) -> dict[str, Any]:
        version = _version("torch")
        if version is None:
            return {"version": None}
        try:
            import torch
        except Exception as exc:  # noqa: BLE001 - a broken torch is part of the report
            return {"version": version, "error": f"{type(exc).__name__}: {exc}"}
        cuda = torch.cuda.is_available()
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
        return {"version": version, "cuda_build": torch.version.cuda, "cuda_available": cuda, "devices": devices}

    def render(self, section: dict[str, Any]) -> list[str]:
        return [f"torch        {_torch_line(section)}"]

    def problems(self, section: dict[str, Any]) -> list[str]:
        return [f"torch does not import: {section['error']}"] if section.get("error") else []


class BitsandbytesCheck(DoctorCheck):
    """bitsandbytes (QLoRA's 4-bit layers): installed or not."""

    name = "bitsandbytes"

    def report(self) -> dict[str, Any]:
        return {"version": _version("bitsandbytes")}

    def render(self, section: dict[str, Any]) -> list[str]:
        return [f"bitsandbytes {section['version'] or 'not installed'}"]


class OnnxRuntimeCheck(DoctorCheck):
    """onnxruntime and onnxruntime-genai: installed flavours, their providers, and flavours that conflict."""

    name = "runtimes"

    def _items(self) -> list[providers.Installed]:
        return providers.installed(self.distributions)

    def report(self) -> dict[str, Any]:
        items = self._items()
        rows: list[dict[str, Any]] = []
        for namespace in (providers.ORT, providers.GENAI):
            flavours = providers.in_namespace(items, namespace)
            if not flavours:
                continue
            error = providers.import_error(namespace)
            available = None if error else providers.available_providers(namespace)
            rows.extend({**item.as_json(), "available_providers": available, "import_error": error}
                        for item in flavours)
        return {"installed": rows, "conflicts": [c.as_json() for c in providers.conflicts(items)]}

    def render(self, section: dict[str, Any]) -> list[str]:
        rows = section["installed"] or [{"distribution": "onnxruntime", "version": None}]
        return ["runtimes", *(f"  {_runtime_line(row)}" for row in rows)]

    def problems(self, section: dict[str, Any]) -> list[str]:
        found = [f"{c['message']}; fix: {c['fix']}" for c in section["conflicts"]]
        found += [f"{row['distribution']} is installed but does not import: {row['import_error']}"
                  for row in section["installed"] if row["import_error"]]
        return found

    def installed_as(self, requirement_name: str) -> tuple[str, str] | None:
        """The plain (CPU) flavour is met by another flavour of the same import package."""
        flavour = providers.FLAVOUR_BY_NAME.get(providers.normalize(requirement_name))
        if flavour is None or flavour.label != "CPU":
            return None
        for item in providers.in_namespace(self._items(), flavour.namespace):
            return item.name, item.version
        return None

    def extra_requirement_checks(self, distribution: str, requires: list[Any], extras: list[str]) -> list[dict]:
        """A plugin that leaves the onnxruntime(-genai) flavour to its extras (``[cpu]``, ``[cuda]``,
        ``[directml]``) needs one of those flavours installed, or its passes stop at validation."""
        by_namespace: dict[str, list[str]] = {}
        for req in requires:
            flavour = providers.FLAVOUR_BY_NAME.get(providers.normalize(req.name))
            if flavour is None or req.marker is None or req.marker.evaluate({"extra": ""}):
                continue
            for extra in extras:  # only extras with a wheel for this platform (directml: Windows)
                if req.marker.evaluate({"extra": extra}) and extra not in by_namespace.get(flavour.namespace, []):
                    by_namespace.setdefault(flavour.namespace, []).append(extra)
        checks = []
        items = self._items()
        for namespace, names in by_namespace.items():
            if providers.in_namespace(items, namespace):
                continue
            label = providers.RUNTIME_LABELS[namespace]
            others = " or ".join(f"[{name}]" for name in names[1:])
            checks.append({"requirement": f"{label} from one of the extras {', '.join(names)}", "installed": None,
                           "ok": False, "problem": f"no {label} flavour is installed: pip install "
                                                   f"'{distribution}[{names[0]}]'"
                                                   + (f" (or {others})" if others else "")})
        return checks


def _torch_line(info: dict[str, Any]) -> str:
    if info["version"] is None:
        return "not installed"
    if info.get("error"):
        return f"{info['version']}  does not import: {info['error']}"
    if info["cuda_available"]:
        return f"{info['version']}  CUDA {info['cuda_build']}: {', '.join(info['devices'])}"
    build = f"CUDA {info['cuda_build']} build, no GPU visible" if info["cuda_build"] else "CPU-only build"
    return f"{info['version']}  CUDA: not available ({build})"


def _runtime_line(row: dict[str, Any]) -> str:
    if row.get("version") is None:
        return "onnxruntime  not installed"
    head = f"{row['distribution']} {row['version']} ({row['flavour']})"
    if row["import_error"]:
        return f"{head}  does not import: {row['import_error']}"
    return f"{head}  providers: {', '.join(row['available_providers'] or []) or 'none'}"
