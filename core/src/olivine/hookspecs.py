"""olivine's hook specifications. Each hook receives a ``register`` callback."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("olivine")
hookimpl = pluggy.HookimplMarker("olivine")


@hookspec
def register_passes(register):
    """Register Pass subclasses: call ``register(PassClass)`` once per pass."""


@hookspec
def register_systems(register):
    """Register System subclasses: call ``register(SystemClass)`` once per system."""


@hookspec
def register_evaluators(register):
    """Register Evaluator subclasses (metric types): call ``register(EvaluatorClass)``."""


@hookspec
def register_resources(register):
    """Register Resource subclasses that turn config references into local paths."""


@hookspec
def register_runtimes(register):
    """Register ModelRuntime subclasses, one per model format they load for evaluation: ``register(cls)``."""


@hookspec
def register_doctor_checks(register):
    """Register DoctorCheck subclasses: sections of ``olivine doctor`` for what the plugin knows."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``olivine`` CLI group ``cli``."""
