"""Entry point of olivine-runtimes (``[project.entry-points.olivine] runtimes = "olivine_runtimes.hooks"``).

Imports nothing heavy: torch, transformers, peft and onnxruntime-genai load inside the runtimes when a
model is evaluated, and in the doctor checks when ``olivine doctor`` runs.
"""

from olivine import hide_library_warning, hookimpl

# peft and transformers warn about their own internals inside our calls; nothing there for the user to change.
hide_library_warning(UserWarning, r"Setting `save_embedding_layers` to `True`")  # peft, embed_tokens targeted
hide_library_warning(FutureWarning, r"`is_gradient_checkpointing` is deprecated")  # transformers, asked by peft


@hookimpl
def register_runtimes(register):
    from olivine_runtimes.generation import GenaiRuntime, HfAdapterRuntime, HfRuntime

    for runtime in (HfRuntime, HfAdapterRuntime, GenaiRuntime):
        register(runtime)


@hookimpl
def register_doctor_checks(register):
    from olivine_runtimes.doctor import BitsandbytesCheck, OnnxRuntimeCheck, TorchCheck

    for check in (TorchCheck, BitsandbytesCheck, OnnxRuntimeCheck):
        register(check)
