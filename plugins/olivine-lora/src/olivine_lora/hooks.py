"""olivine-lora's registrations. Imports only the light pass classes; training code loads in run()."""

from olivine import hookimpl


@hookimpl
def register_passes(register):
    from olivine_lora.passes import LoRA, QLoRA

    register(LoRA)
    register(QLoRA)
