"""Progress of long steps: a tqdm bar (rate, ETA, terminal width) on a terminal, a log line every 10 seconds
elsewhere (CI logs, files, AzureML job logs), where a redrawn bar would be noise."""

from __future__ import annotations

import logging
import os
import sys
import time

LOG_INTERVAL_S = 10.0


def bars_wanted() -> bool:
    """False under ``-q`` (OLIVINE_VERBOSITY < 0): only warnings, errors and the summary."""
    return int(os.environ.get("OLIVINE_VERBOSITY", "0") or 0) >= 0


class Progress:
    """``with ctx.progress(total, "training") as bar: bar.update(1, loss=0.4)``."""

    def __init__(self, total: int | None, description: str, enabled: bool = True,
                 logger: logging.Logger | None = None, stream=None):
        self.total = total
        self.description = description
        self.enabled = enabled and bars_wanted()
        self.logger = logger or logging.getLogger("olivine")
        self.stream = stream or sys.stderr
        self.count = 0
        self.fields: dict[str, object] = {}
        self.started = time.perf_counter()
        self._last_logged_at = self.started
        self._last_logged: tuple | None = None
        self._bar = self._tqdm() if self.enabled and _is_tty(self.stream) else None

    def _tqdm(self):
        from tqdm import tqdm

        # dynamic_ncols follows the terminal's width; leave=True keeps the finished bar as a record of the step.
        return tqdm(total=self.total, desc=self.description, file=self.stream, dynamic_ncols=True, leave=True,
                    unit="step" if self.total else "it", smoothing=0.1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1, **fields: object) -> None:
        self.count += n
        self.fields.update(fields)
        if self._bar is not None:
            if fields:
                self._bar.set_postfix({k: _fmt(v) for k, v in self.fields.items()}, refresh=False)
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last_logged_at >= LOG_INTERVAL_S or (self.total and self.count >= self.total):
            self._last_logged_at = now
            self._log()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.count:
            self._log()

    def line(self) -> str:
        """What the log line says: done/total, elapsed, rate, ETA and the latest fields."""
        elapsed = time.perf_counter() - self.started
        done = f"{self.count}/{self.total}" if self.total else str(self.count)
        parts = [self.description, done, f"{elapsed:.1f}s"]
        if self.count and elapsed > 0:
            rate = self.count / elapsed
            parts.append(f"{rate:.3g}/s")
            if self.total and self.count < self.total:
                parts.append(f"eta {(self.total - self.count) / rate:.0f}s")
        parts += [f"{k}={_fmt(v)}" for k, v in self.fields.items()]
        return " ".join(parts)

    def _log(self) -> None:
        if not self.enabled:
            return
        state = (self.count, tuple(self.fields.items()))
        if state != self._last_logged:  # the last update and close() can describe the same state
            self.logger.info(self.line())
            self._last_logged = state


def _is_tty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
