"""olivine: fine-tune, convert and quantize language models with plugin passes.

This module is the public API for plugin authors, and the only one: a plugin (its code and its tests)
imports names from ``olivine`` and, in tests, from ``olivine.testing``; every other module is private and
may change in any release. Stability: a name in ``__all__`` keeps its meaning and signature within a
minor series; a removal or incompatible change is announced in core's CHANGELOG one minor release ahead.
See docs/plugins.md, "The public API".

Names that need the engine or the data code are loaded on first use, so that ``import olivine`` (what a
hooks module does) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from olivine.component import StrictConfig, parse_config
from olivine.doctor_checks import DoctorCheck
from olivine.durable import file_hash, fsync_dir, fsync_file
from olivine.errors import ConfigError, ConfigErrors, OlivineError, PassError
from olivine.evaluators import EvalContext, Evaluator
from olivine.hookspecs import hookimpl
from olivine.mlflow_layout import hf_folder as mlflow_hf_folder
from olivine.mlflow_layout import hf_parts as mlflow_hf_parts
from olivine.models import ModelRef, content_key, link_or_copy_tree
from olivine.noise import hide_library_warning
from olivine.passes import Accelerator, Pass, PassContext, ValidationContext
from olivine.paths import resolve_path
from olivine.resources import Resource, ResourceContext
from olivine.runtimes import ModelRuntime, ProviderProblem, Timing
from olivine.suggest import did_you_mean
from olivine.systems import AcceleratorConfig, System, SystemConfig

if TYPE_CHECKING:
    from olivine.cache import read_content_hashes
    from olivine.config.schema import DataConfig, MetricConfig
    from olivine.data import training_examples
    from olivine.engine import run as run_workflow
    from olivine.engine import validate as validate_workflow
    from olivine.plugins import Plugins, get_plugins, load_plugins
    from olivine.runpass import eval_spec, pass_spec, rebase_spec

__version__ = "0.1.0"

# name -> (module, attribute): imported when first asked for.
_LAZY = {
    "read_content_hashes": ("olivine.cache", "read_content_hashes"),
    "DataConfig": ("olivine.config.schema", "DataConfig"),
    "MetricConfig": ("olivine.config.schema", "MetricConfig"),
    "training_examples": ("olivine.data", "training_examples"),
    "run_workflow": ("olivine.engine", "run"),
    "validate_workflow": ("olivine.engine", "validate"),
    "Plugins": ("olivine.plugins", "Plugins"),
    "get_plugins": ("olivine.plugins", "get_plugins"),
    "load_plugins": ("olivine.plugins", "load_plugins"),
    "pass_spec": ("olivine.runpass", "pass_spec"),
    "eval_spec": ("olivine.runpass", "eval_spec"),
    "rebase_spec": ("olivine.runpass", "rebase_spec"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'olivine' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__all__ = [
    # components and what they receive
    "Pass", "PassContext", "ValidationContext", "Accelerator",
    "System", "SystemConfig", "AcceleratorConfig",
    "Evaluator", "EvalContext",
    "Resource", "ResourceContext",
    "ModelRuntime", "ProviderProblem", "Timing", "DoctorCheck",
    "StrictConfig", "parse_config", "hookimpl",
    # what flows between passes
    "ModelRef", "content_key", "link_or_copy_tree", "DataConfig", "MetricConfig", "training_examples",
    "mlflow_hf_parts", "mlflow_hf_folder", "read_content_hashes",
    # errors and messages
    "OlivineError", "ConfigError", "ConfigErrors", "PassError", "did_you_mean", "hide_library_warning",
    # paths and durable files (blake2b of a file; fsync before a rename makes it final)
    "file_hash", "fsync_file", "fsync_dir",
    # plugins, workflows
    "resolve_path", "Plugins", "get_plugins", "load_plugins", "run_workflow", "validate_workflow",
    # out-of-process systems: the spec that ``olivine run-pass`` executes
    "pass_spec", "eval_spec", "rebase_spec",
    "__version__",
]
