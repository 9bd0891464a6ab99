"""Pictures of training runs: loss and validation metric versus epoch and versus iteration.

Every curve is drawn by :func:`optimlab.viz.plot_curves` (one line per optimizer), the
same function that draws the function lab's traces, since a
:class:`~optimlab.training.History` is a :class:`~optimlab.record.Trace`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt

from ..record import Trace
from .curves import plot_curves, save_figure
from .landscape import wrap_title

__all__ = ["training_figures", "plot_history"]


def training_figures(histories: Mapping, folder: str | Path, monitor: str = "val_loss",
                     seeds: int = 1, width_px: int = 1100, dpi: int = 110) -> list[tuple[Path, str]]:
    """Draw the standard training curves of ``{label: History}`` into ``folder``.

    Figures: ``monitor`` per epoch, training and validation loss per epoch, training
    loss per iteration; each PNG is ``width_px`` pixels wide (the page's width, so a
    page shows it at its own size, not stretched) at ``dpi``. Returns ``[(path, caption)]``
    for an HTML report.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mean = " (mean over seeds)" if seeds > 1 else ""
    first = next(iter(histories.values()))
    plots = [(monitor, "epoch", f"{monitor} per epoch{mean}")]
    if monitor != "val_loss" and "val_loss" in first.epochs:
        plots.append(("val_loss", "epoch", f"validation loss per epoch{mean}"))
    over = "the epoch's batches" + (" and the seeds" if seeds > 1 else "")
    plots.append(("loss", "epoch", f"training loss per epoch (mean over {over})"))
    plots.append(("loss", "step", f"training loss of each mini-batch, per iteration{mean}"))
    out = []
    for key, per, caption in plots:
        if any(key not in (h.epochs if per == "epoch" else h.series) for h in histories.values()):
            continue
        fig = plot_curves(histories, key, per=per, title=wrap_title(caption, 110),
                          xlabel="epoch" if per == "epoch" else "iteration", figsize=(width_px / dpi, 3.9))
        out.append((save_figure(fig, folder / f"{key}_per_{per}.png", dpi=dpi), caption))
    return out


def plot_history(history: Trace, metrics: Sequence[str] | None = None) -> Any:
    """Keras users' first picture of one run: training and validation curves per epoch,
    one panel for the loss and one per metric (default: every metric the history logged).

    Returns the matplotlib Figure.
    """
    ep = history.epochs
    if "loss" not in ep:
        raise ValueError("history has no per-epoch 'loss': is it a training History with at least one epoch?")
    if metrics is None:
        metrics = [k for k in ep if k not in ("loss", "lr", "time") and not k.startswith("val_")]
    keys = ["loss", *metrics]
    for k in keys:
        if k not in ep:
            raise ValueError(f"history has no per-epoch {k!r}; it has {sorted(ep)}")
    fig, axes = plt.subplots(1, len(keys), figsize=(5.0 * len(keys), 3.8), constrained_layout=True, squeeze=False)
    for ax, key in zip(axes[0], keys):
        lines = [Trace(label="training", epochs={key: ep[key]})]
        if "val_" + key in ep:
            lines.append(Trace(label="validation", epochs={key: ep["val_" + key]}))
        plot_curves(lines, key, per="epoch", ax=ax, title=f"{history.label or 'run'}: {key}")
    return fig
