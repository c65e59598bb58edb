"""Fold what the builder prints (prints, tqdm bars, library logging) into our log instead of the terminal.

The builder prints every step, tqdm draws bars on stderr, and onnxruntime's quantizer calls
``logging.basicConfig(level=INFO)`` when imported, which would leave a root handler behind in a
program that had none. Inside ``captured()`` all of it goes line by line to one callback; olivine's
own loggers keep writing where they did, so progress and notes stay visible.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LineSink(io.TextIOBase):
    """A text stream that hands complete lines to a callback; tqdm redraws keep only their last state."""

    def __init__(self, on_line: Callable[[str], None]):
        super().__init__()
        self._on_line = on_line
        self._pending = ""
        self._open = True

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not self._open:
            return len(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        self._pending = self._pending.rsplit("\r", 1)[-1]
        for line in lines:
            self._emit(line.rsplit("\r", 1)[-1])
        return len(text)

    def finish(self) -> None:
        if self._pending:
            self._emit(self._pending)
        self._pending = ""
        self._open = False

    def _emit(self, line: str) -> None:
        if line.strip():
            self._on_line(line.rstrip())


class _OnlyOlivine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("olivine")


class _NotOlivine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("olivine")


@contextmanager
def captured(on_line: Callable[[str], None]) -> Iterator[LineSink]:
    """Route stdout, stderr and third-party logging to ``on_line`` for the duration of the block."""
    sink = LineSink(on_line)
    out, err = sys.stdout, sys.stderr
    terminals = {id(s) for s in (out, err, sys.__stdout__, sys.__stderr__) if s is not None}
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    moved = _move_third_party_handlers(terminals, sink)
    quiet, loud = _OnlyOlivine(), logging.StreamHandler(sink)
    loud.addFilter(_NotOlivine())
    for handler in root_handlers:
        handler.addFilter(quiet)
    root.addHandler(loud)
    sys.stdout = sys.stderr = sink
    try:
        yield sink
    finally:
        sys.stdout, sys.stderr = out, err
        for handler, stream in moved:
            handler.setStream(stream)
        for handler in root_handlers:
            handler.removeFilter(quiet)
        # Drop handlers added while importing the builder (basicConfig) and point any handler a
        # library created during the build (its stream was the sink) back at the real stderr.
        root.handlers[:] = root_handlers
        root.setLevel(root_level)
        _repoint_handlers(sink, err)
        sink.finish()


def _loggers() -> list[logging.Logger]:
    found = [logging.getLogger()]
    found += [obj for obj in logging.Logger.manager.loggerDict.values() if isinstance(obj, logging.Logger)]
    return found


def _move_third_party_handlers(terminals: set[int], sink: LineSink) -> list[tuple[logging.StreamHandler, object]]:
    moved = []
    for logger in _loggers():
        if logger is logging.getLogger() or logger.name.startswith("olivine"):
            continue
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and id(handler.stream) in terminals:
                moved.append((handler, handler.setStream(sink)))
    return moved


def _repoint_handlers(sink: LineSink, stream: object) -> None:
    for logger in _loggers():
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sink:
                handler.setStream(stream)
