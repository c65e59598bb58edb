"""Durable file writes: fsync before a rename makes something visible, and copies that are never links.

A rename is atomic but not durable: after a power cut the new name can point at a file whose data
never reached the disk. Everything that marks work as finished (a cache entry's manifest, a
checkpoint, a published output) is fsynced first, then renamed, then its folder fsynced.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

BLOCK = 1 << 20


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Persist a folder's entries (names created or renamed in it). Not possible on Windows: skipped."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and platforms) refuse fsync on a folder; the data itself was synced
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every folder, deepest first."""
    root = Path(root)
    if root.is_file():
        fsync_file(root)
        return
    folders = [root]
    for folder, dirs, files in os.walk(root):
        for name in files:
            fsync_file(Path(folder) / name)
        folders.extend(Path(folder) / d for d in dirs)
    for directory in reversed(folders):
        fsync_dir(directory)


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside ``path``, fsync, rename over it: readers see the old or the new text, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_file(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` (a reflink where the filesystem offers one, else bytes); returns the
    blake2b of what was read, so a caller can check the source against its manifest for free."""
    digest = hashlib.blake2b(digest_size=32)
    if _reflink(src, dst):
        return file_hash(dst)
    with open(src, "rb") as reader, open(dst, "wb") as writer:
        for block in iter(lambda: reader.read(BLOCK), b""):
            digest.update(block)
            writer.write(block)
    shutil.copystat(src, dst)
    return digest.hexdigest()


def _reflink(src: Path, dst: Path) -> bool:
    """Copy-on-write clone (btrfs, XFS, APFS via FICLONE): instant, and an edit of one never changes the other."""
    try:
        import fcntl
    except ImportError:
        return False
    ficlone = 0x40049409  # FICLONE from linux/fs.h
    try:
        with open(src, "rb") as reader, open(dst, "wb") as writer:
            fcntl.ioctl(writer.fileno(), ficlone, reader.fileno())
    except OSError:
        Path(dst).unlink(missing_ok=True)
        return False
    shutil.copystat(src, dst)
    return True
