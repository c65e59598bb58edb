"""Training curves: kept as lists of {step, loss} for the run report, drawn as SVG, sent to tensorboard."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any


def new_history() -> dict[str, list[dict[str, float]]]:
    return {"loss": [], "eval_loss": [], "learning_rate": []}


def plot(history: dict[str, Any], target: Path, title: str) -> Path:
    """Write the loss curves as an SVG chart.

    SVG is plain text, so the chart costs no plotting library in the process that also trains and
    builds (matplotlib adds about 30 MB of resident memory there).
    """
    series = [(label, colour, history.get(key) or []) for key, label, colour in
              (("loss", "train loss", "#1f77b4"), ("eval_loss", "eval loss", "#d62728"))]
    points = [p for _, _, values in series for p in values]
    target.write_text(_svg(title, series, points), encoding="utf-8")
    return target


_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 700, 400, 70, 20, 40, 50


def _svg(title: str, series, points) -> str:
    steps = [p["step"] for p in points] or [0, 1]
    losses = [p["loss"] for p in points] or [0, 1]
    x0, x1 = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
    y0, y1 = min(losses), max(losses) if max(losses) > min(losses) else min(losses) + 1

    def xy(step: float, loss: float) -> str:
        x = _LEFT + (step - x0) / (x1 - x0) * (_W - _LEFT - _RIGHT)
        y = _H - _BOTTOM - (loss - y0) / (y1 - y0) * (_H - _TOP - _BOTTOM)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{_W / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
             f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" height="{_H - _TOP - _BOTTOM}" '
             'fill="none" stroke="#888"/>']
    for i in range(5):
        step, loss = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        x, y = (float(v) for v in xy(step, loss).split(","))
        parts.append(f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{step:.0f}</text>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{loss:.3g}</text>')
    parts.append(f'<text x="{_W / 2}" y="{_H - 12}" text-anchor="middle">optimizer step</text>')
    parts.append(f'<text x="16" y="{_H / 2}" text-anchor="middle" transform="rotate(-90 16 {_H / 2})">'
                 'loss (mean over target tokens)</text>')
    for row, (label, colour, values) in enumerate(s for s in series if s[2]):
        line = " ".join(xy(p["step"], p["loss"]) for p in values)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<text x="{_W - _RIGHT - 10}" y="{_TOP + 18 + 16 * row}" text-anchor="end" '
                     f'fill="{colour}">{label}</text>')
    return "\n".join([*parts, "</svg>", ""])


class Tensorboard:
    """Scalars for ``report_to: tensorboard``; a resumed run drops events past its checkpoint."""

    def __init__(self, folder: Path | None, resume_step: int):
        self.writer = None
        if folder is None:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(folder), purge_step=resume_step + 1 if resume_step else None)

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
