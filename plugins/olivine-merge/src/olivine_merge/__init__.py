"""olivine-merge: the MergeAdapterWeights pass (LoRA and QLoRA adapters into their base model)."""

__version__ = "0.1.0"
