"""Registers MergeAdapterWeights. Imports nothing heavy: torch and peft load only when a merge runs."""

from olivine import hookimpl


@hookimpl
def register_passes(register):
    from olivine_merge.merge_pass import MergeAdapterWeights

    register(MergeAdapterWeights)
