"""Keep bitsandbytes out of a process that quantizes nothing.

peft (0.21 at least) imports bitsandbytes whenever it is installed: at ``import peft`` (its
``helpers`` module) and again in LoRA's layer dispatch. bitsandbytes in turn imports networkx and
more of ``torch._inductor``: 44 MB resident and about a second, in every process that touches
peft, for a model that has no bitsandbytes layer. A model with such a layer was loaded by
bitsandbytes, so bitsandbytes is already imported and nothing is hidden; only a process that has
not imported it skips it.

peft and transformers remember "not installed" in cached checks; those caches are cleared on the
way out, so a QLoRA pass later in the same process finds bitsandbytes as usual. One thing stays:
when peft is first imported inside the block, ``peft.helpers`` keeps ``bnb = None``; it is read only
by ``find_kappa_target_modules``, which olivine does not call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MODULE = "bitsandbytes"

# Availability checks that cache their answer (functools.lru_cache), as "module:function".
_CACHED_CHECKS = (
    "peft.import_utils:is_bnb_available",
    "peft.import_utils:is_bnb_4bit_available",
    "transformers.utils.import_utils:is_bitsandbytes_available",
)


@contextmanager
def without_bitsandbytes() -> Iterator[None]:
    """Run peft code as if bitsandbytes were not installed, unless it is imported already."""
    if sys.modules.get(MODULE) is not None:
        yield
        return
    # A None entry makes ``import bitsandbytes`` raise ImportError and find_spec answer None,
    # which is exactly how peft and transformers tell that it is absent.
    sys.modules[MODULE] = None  # type: ignore[assignment]  # typeshed allows modules only; None is documented
    _clear_cached_checks()
    try:
        yield
    finally:
        if MODULE in sys.modules and sys.modules[MODULE] is None:
            del sys.modules[MODULE]
        _clear_cached_checks()


def _clear_cached_checks() -> None:
    for entry in _CACHED_CHECKS:
        module_name, name = entry.split(":")
        module = sys.modules.get(module_name)
        check: Any = getattr(module, name, None) if module is not None else None
        if hasattr(check, "cache_clear"):
            check.cache_clear()

