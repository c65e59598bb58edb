"""Give memory a finished pass freed back to the operating system.

Every pass runs in one process, so a training pass's freed activations and optimizer state would
otherwise stay in the allocator's arenas and add to the peak of every later pass.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys


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
