"""olivine-acme: an example olivine plugin that tags Hugging Face models."""

__version__ = "0.1.0"
