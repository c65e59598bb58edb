"""olivine-lora: LoRA and QLoRA fine-tuning passes for olivine."""

__version__ = "0.1.0"
