"""Registers ModelBuilder. Imports nothing heavy: onnxruntime-genai loads only when a build runs."""

from olivine import hookimpl


@hookimpl
def register_passes(register):
    from olivine_modelbuilder.model_builder import ModelBuilder

    register(ModelBuilder)
