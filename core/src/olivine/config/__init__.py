"""Workflow configuration: schema, Olive-schema migration, validation and JSON Schema export."""

from olivine.config.loader import LoadedWorkflow, load_workflow
from olivine.config.schema import WorkflowConfig

__all__ = ["LoadedWorkflow", "WorkflowConfig", "load_workflow"]
