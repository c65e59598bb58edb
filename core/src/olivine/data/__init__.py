"""Data configs: validation before any work, and loading for passes and evaluators.

Importing this package is light; ``datasets`` is imported only when rows are loaded.
"""

from olivine.data.container import HuggingfaceContainer, load_rows
from olivine.data.pairs import prompt_label_pairs
from olivine.data.text_gen import training_examples
from olivine.data.validate import validate_data_config

__all__ = ["HuggingfaceContainer", "load_rows", "prompt_label_pairs", "training_examples", "validate_data_config"]
