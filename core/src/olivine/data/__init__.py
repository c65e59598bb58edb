"""Data configs: validation before any work, and loading for passes and evaluators."""

from olivine.data.validate import validate_data_config

__all__ = ["validate_data_config"]
