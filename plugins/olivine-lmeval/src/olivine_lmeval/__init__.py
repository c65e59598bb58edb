"""olivine-lmeval: Olive's ``LMEvaluator``, lm-evaluation-harness tasks as olivine metrics.

- ``evaluator``: the ``LMEvaluator`` metric type and its config (Olive's fields).
- ``tasks``: which lm-eval tasks a config names (registered names, YAML files, ``include_path``).
- ``genai_lm``: lm-eval's model interface over an onnxruntime-genai model folder.
- ``results``: lm-eval's result table as ``task/metric`` sub types.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
