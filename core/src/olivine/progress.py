"""A small progress bar for long steps: redraws on a terminal, logs periodic lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time


class Progress:
    """``with ctx.progress(total, "training") as bar: bar.update(1, loss=0.4)``."""

    def __init__(self, total: int | None, description: str, enabled: bool = True,
                 logger: logging.Logger | None = None, stream=None):
        self.total = total
        self.description = description
        self.enabled = enabled
        self.logger = logger or logging.getLogger("olivine")
        self.stream = stream or sys.stderr
        self.count = 0
        self.fields: dict[str, object] = {}
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._last_logged: tuple | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1, **fields: object) -> None:
        self.count += n
        self.fields.update(fields)
        now = time.perf_counter()
        interval = 0.1 if self._tty else 10.0
        if now - self._last_draw >= interval or (self.total and self.count >= self.total):
            self._last_draw = now
            self._draw(final=False)

    def close(self) -> None:
        self._draw(final=True)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        done = f"{self.count}/{self.total}" if self.total else str(self.count)
        bar = ""
        if self.total:
            filled = int(24 * min(self.count, self.total) / self.total)
            bar = "[" + "#" * filled + "." * (24 - filled) + "] "
        extras = " ".join(f"{k}={_fmt(v)}" for k, v in self.fields.items())
        return f"{self.description} {bar}{done} {elapsed:.1f}s {extras}".rstrip()

    def _draw(self, final: bool) -> None:
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r\033[K" + self.line() + ("\n" if final else ""))
            self.stream.flush()
        elif final or self.count:
            state = (self.count, tuple(self.fields.items()))
            if state != self._last_logged:  # the last update and close() can describe the same state
                self.logger.info(self.line())
                self._last_logged = state


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
