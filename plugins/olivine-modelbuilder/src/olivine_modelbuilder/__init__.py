"""olivine-modelbuilder: the ModelBuilder pass (onnxruntime-genai's model builder, run in-process)."""

__version__ = "0.1.0"
