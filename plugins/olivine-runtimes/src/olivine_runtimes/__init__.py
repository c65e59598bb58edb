"""olivine-runtimes: what olivine's plugins share about the runtimes they drive.

- ``providers``: the onnxruntime and onnxruntime-genai flavours (CPU, CUDA, DirectML, ...), which
  execution providers each brings, and the conflicts between them; read from package metadata.
- ``without_bitsandbytes``: load peft without importing bitsandbytes when no model is quantized.
- Model runtimes for evaluation (``hf``, ``hf+adapter``, ``onnx-genai``) and ``olivine doctor``
  sections (torch, bitsandbytes, onnxruntime), registered through the plugin hooks.
"""

from olivine_runtimes import providers
from olivine_runtimes.lazy_bitsandbytes import without_bitsandbytes

__version__ = "0.1.0"
__all__ = ["providers", "without_bitsandbytes", "__version__"]
