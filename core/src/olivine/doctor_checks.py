"""DoctorCheck: a section of ``olivine doctor`` contributed by a plugin (``register_doctor_checks``).

Core reports Python, the platform and every plugin's requirements; what a runtime needs checking (torch and
CUDA, onnxruntime flavours and their conflicts) comes from the plugin that knows that runtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class DoctorCheck:
    """Base of every doctor section. ``name`` is its key in ``olivine doctor --json``."""

    name: ClassVar[str] = ""

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def __init__(self, distributions: Iterable[Any] | None = None):
        # Stand-ins for the installed distributions (tests simulate an environment); None: the real ones.
        self.distributions = list(distributions) if distributions is not None else None

    def report(self) -> Any:
        """This section as JSON-ready data."""
        raise NotImplementedError

    def render(self, section: Any) -> list[str]:
        """The section as text lines, each starting with the label column."""
        raise NotImplementedError

    def problems(self, section: Any) -> list[str]:
        """Problems found, each with its fix."""
        return []

    def installed_as(self, requirement_name: str) -> tuple[str, str] | None:
        """(distribution, version) installed in place of ``requirement_name`` (another flavour of the same
        import package), or None: a plugin asking for onnxruntime-genai runs on onnxruntime-genai-cuda."""
        return None

    def extra_requirement_checks(self, distribution: str, requires: list[Any], extras: list[str]) -> list[dict]:
        """Checks for requirements that ``distribution`` leaves to its extras (a runtime flavour per extra)."""
        return []
