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
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.malloc_trim(0)  # glibc only; musl has no malloc_trim
        except (OSError, AttributeError):
            pass
