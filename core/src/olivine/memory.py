"""Give memory a finished pass freed back to the operating system.

Every pass runs in one process, so a training pass's freed activations and optimizer state would
otherwise stay in the allocator's arenas and add to the peak of every later pass.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

# Generation-1 collections between two automatic full ones: never, in practice (release_memory
# and explicit gc.collect() calls still collect everything).
DEFERRED_FULL_COLLECTIONS = 1_000_000


def defer_full_collections() -> None:
    """Leave full collections to pass boundaries (release_memory) in this process.

    Importing torch and transformers creates about a million long-lived objects, and each automatic
    full collection on the way walks all of them: 7 of them took 0.8-0.9 s of a 5 s import of torch,
    transformers, peft and the ONNX builder (2-core AMD EPYC). The young generations are still
    collected automatically, so short-lived cycles go as before; what reaches the oldest generation
    waits for the end of the pass, where release_memory collects everything.
    """
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, DEFERRED_FULL_COLLECTIONS)


def release_memory() -> None:
    gc.collect()
    # What survives a pass is long-lived (imported modules: half a million objects once torch and
    # transformers are in). Freezing it spares every later collection, automatic ones included, the
    # quarter second it takes to walk them; a pass's own garbage is still collected.
    gc.freeze()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.malloc_trim(0)  # glibc only; musl has no malloc_trim
        except (OSError, AttributeError):
            pass


def thaw() -> None:
    """Hand the objects frozen during a run back to the collector (for a caller that keeps running)."""
    gc.unfreeze()
