"""olivine-directml: the DirectML system (a Windows DirectX 12 GPU through onnxruntime-directml)."""

__version__ = "0.1.0"
