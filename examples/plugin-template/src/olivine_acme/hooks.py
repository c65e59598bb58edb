"""Entry point of the plugin (``[project.entry-points.olivine] acme = "olivine_acme.hooks"``).

``olivine passes`` imports this module, so it must stay light: no torch, transformers, onnxruntime.
"""

from olivine import hookimpl

from olivine_acme.tag import AcmeTag


@hookimpl
def register_passes(register):
    register(AcmeTag)
