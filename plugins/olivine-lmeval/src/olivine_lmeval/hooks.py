"""Entry point of olivine-lmeval (``[project.entry-points.olivine] lmeval = "olivine_lmeval.hooks"``).

Imports nothing heavy: lm_eval, torch and onnxruntime-genai load inside ``LMEvaluator.evaluate``.
"""

from olivine import hookimpl


@hookimpl
def register_evaluators(register):
    from olivine_lmeval.evaluator import LMEvaluator

    register(LMEvaluator)
