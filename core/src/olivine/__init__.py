"""olivine: fine-tune, convert and quantize language models with plugin passes.

The names below are the public API for plugin authors.
"""

from olivine.component import StrictConfig
from olivine.errors import ConfigError, OlivineError, PassError
from olivine.evaluators import EvalContext, Evaluator
from olivine.hookspecs import hookimpl
from olivine.models import ModelRef
from olivine.passes import Accelerator, Pass, PassContext, ValidationContext
from olivine.resources import Resource, ResourceContext
from olivine.systems import System

__version__ = "0.1.0"

__all__ = [
    "Accelerator", "ConfigError", "EvalContext", "Evaluator", "ModelRef", "OlivineError", "Pass",
    "PassContext", "PassError", "Resource", "ResourceContext", "StrictConfig", "System",
    "ValidationContext", "hookimpl", "__version__",
]
