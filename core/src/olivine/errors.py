"""Errors a user can cause. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


class OlivineError(Exception):
    """Base of every error olivine reports to the user without a traceback."""

    exit_code = 2


class ConfigError(OlivineError):
    """A problem in a workflow config, located by its JSON path (``passes.lora.lora_r``)."""

    def __init__(self, path: str, message: str, hint: str | None = None):
        self.path = path
        self.message = message
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigErrors(OlivineError):
    """Several config problems found in one validation pass, reported together."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("; ".join(e.line() for e in errors))


class PluginLoadError(OlivineError):
    """A plugin failed to import (raised only with OLIVINE_STRICT_PLUGINS=1)."""


class DuplicateNameError(OlivineError):
    """Two plugins registered the same user-visible name."""


class PassError(OlivineError):
    """A pass failed while running; carries the pass key from the workflow."""

    exit_code = 1


class CacheLockTimeout(OlivineError):
    """Another run holds the cache entry for too long."""
