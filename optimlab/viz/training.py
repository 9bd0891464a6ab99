"""Pictures of training runs: loss and validation metric versus epoch and versus iteration.

Every curve is drawn by :func:`optimlab.viz.plot_curves` (one line per optimizer), the
same function that draws the function lab's traces, since a
:class:`~optimlab.training.History` is a :class:`~optimlab.record.Trace`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .curves import plot_curves, save_figure

__all__ = ["training_figures"]


def training_figures(histories: Mapping, folder: str | Path, monitor: str = "val_loss",
                     seeds: int = 1) -> list[tuple[Path, str]]:
    """Draw the standard training curves of ``{label: History}`` into ``folder``.

    Figures: ``monitor`` per epoch, training and validation loss per epoch, training
    loss per iteration. Returns ``[(path, caption)]`` for an HTML report.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mean = " (mean over seeds)" if seeds > 1 else ""
    first = next(iter(histories.values()))
    plots = [(monitor, "epoch", f"{monitor} per epoch{mean}")]
    if monitor != "val_loss" and "val_loss" in first.epochs:
        plots.append(("val_loss", "epoch", f"validation loss per epoch{mean}"))
    plots.append(("loss", "epoch", f"training loss per epoch (mean over the epoch's batches){mean}"))
    plots.append(("loss", "step", f"training loss of each mini-batch, per iteration{mean}"))
    out = []
    for key, per, caption in plots:
        if any(key not in (h.epochs if per == "epoch" else h.series) for h in histories.values()):
            continue
        fig = plot_curves(histories, key, per=per, title=caption,
                          xlabel="epoch" if per == "epoch" else "iteration")
        out.append((save_figure(fig, folder / f"{key}_per_{per}.png"), caption))
    return out
