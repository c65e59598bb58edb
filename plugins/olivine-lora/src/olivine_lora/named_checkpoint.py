"""``training_args.resume_from_checkpoint``: the checkpoint a user names, found and checked before any work.

As the Trainer takes it: a checkpoint folder or a folder of checkpoints (the newest is used); ``true``
(this pass's own latest checkpoint) is what a pass always does, so ``normalize`` drops it. A named folder may
come from another run or another machine: it is verified like any checkpoint (hashes in ``state.json``,
tensors loaded with ``weights_only``), never unpickled. Light on purpose: validation imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from olivine import ConfigError

KEY = "resume_from_checkpoint"
PREFIX = "step-"


@dataclass(frozen=True)
class Named:
    """What the user asked for; used only when this pass has no checkpoint of its own."""

    where: str  # the JSON path, ``passes.<key>.training_args.resume_from_checkpoint``
    folder: Path

    def checkpoints(self) -> list[Path]:
        """The named checkpoint, or the finished checkpoints of the named folder, newest first."""
        if (self.folder / "state.json").is_file():
            return [self.folder]
        return sorted((p for p in self.folder.glob(f"{PREFIX}*") if (p / "state.json").is_file()), reverse=True)


def named(value: object, resolve: Callable[[str], Path], where: str) -> Named | None:
    """The checkpoint ``value`` names, or None when it names none; a ConfigError for a folder that holds none."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, "must be a checkpoint folder or true")
    request = Named(where, resolve(value))
    if not request.checkpoints():
        raise ConfigError(where, *_why_not(request.folder))
    return request


def _why_not(folder: Path) -> tuple[str, str]:
    if not folder.exists():
        return f"{folder} does not exist", "name a step-<n> folder olivine saved"
    if (folder / "trainer_state.json").is_file():
        return (f"{folder} is a Hugging Face Trainer checkpoint",
                "olivine resumes from its own checkpoints, whose optimizer state loads without unpickling")
    return (f"{folder} holds no olivine checkpoint (no state.json, no finished step-<n> folder)",
            "name a step-<n> folder from a checkpoints/ folder of the cache")
