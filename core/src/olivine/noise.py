"""Library warnings hidden by default: plugins name the ones their libraries raise about their own internals.

A warning a library raises inside a plugin's call, about something only the library can change, tells the
user nothing they can act on. The plugin that drives that library registers it here (from its hooks
module, so it is known before any run starts); ``olivine run`` hides what is registered unless ``-v``.
"""

from __future__ import annotations

import warnings

_hidden: list[tuple[type[Warning], str]] = []
_applied = False


def hide_library_warning(category: type[Warning], message: str) -> None:
    """Hide warnings of ``category`` whose text matches the regular expression ``message`` (unless ``-v``)."""
    _hidden.append((category, message))
    if _applied:
        warnings.filterwarnings("ignore", message=message, category=category)


def apply_hidden_warnings() -> None:
    """Install the filters for every registered warning, and for any registered later."""
    global _applied
    _applied = True
    for category, message in _hidden:
        warnings.filterwarnings("ignore", message=message, category=category)
