"""Registers the DirectML system. Imports nothing heavy: the system module loads onnxruntime never."""

from olivine import hookimpl


@hookimpl
def register_systems(register):
    from olivine_directml.system import DirectML

    register(DirectML)
