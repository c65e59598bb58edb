"""Training curves: kept as lists of {step, loss} for the run report, drawn as a PNG, sent to tensorboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def new_history() -> dict[str, list[dict[str, float]]]:
    return {"loss": [], "eval_loss": [], "learning_rate": []}


def plot(history: dict[str, Any], target: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key, label, style in (("loss", "train loss", "-"), ("eval_loss", "eval loss", "o-")):
        points = history.get(key) or []
        if points:
            ax.plot([p["step"] for p in points], [p["loss"] for p in points], style, label=label, markersize=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (mean over target tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return target


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
