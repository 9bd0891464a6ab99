"""Line plots of any per-step or per-epoch series of one or several traces.

The same function draws the function lab's ``f − f*`` and ``‖∇f‖`` versus step,
the learning rate per step, and the training lab's loss and accuracy versus epoch or
iteration: one line per trace, labelled by ``trace.label``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..record import Trace, evaluations
from ._common import plain_text
from ._style import run_styles

__all__ = ["plot_curves", "save_figure", "trace_list", "place_legend"]


def place_legend(ax: Any, where: str = "inside", fontsize: float = 8.5) -> Any:
    """The legend of ``ax``: ``"inside"`` (best corner), ``"outside"`` (right of the axes) or
    ``"below"`` (under the figure, in one or two columns: long labels do not squeeze the axes;
    needs a figure with constrained layout)."""
    handles, labels = ax.get_legend_handles_labels()
    if where == "outside":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=fontsize, frameon=False,
                         borderaxespad=0.0)
    if where == "below":
        ncol = 2 if max(map(len, labels), default=0) <= 45 and len(labels) > 2 else 1
        return ax.figure.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=fontsize,
                                frameon=False)
    return ax.legend(loc="best", fontsize=fontsize - 0.5, framealpha=0.85)


def trace_list(traces: Trace | Iterable[Trace] | Mapping[str, Trace]) -> list[Trace]:
    """Accept one trace, a list of traces or a ``{label: trace}`` mapping.

    A mapping's key labels a trace that has no label of its own; the caller's trace is
    not changed (a relabelled shallow copy is returned)."""
    if isinstance(traces, Trace):
        return [traces]
    if isinstance(traces, Mapping):
        items = [(repr(label), t, str(label)) for label, t in traces.items()]
    else:
        items = [(str(i), t, None) for i, t in enumerate(traces)]
    out = []
    for where, t, label in items:
        if not isinstance(t, Trace):
            raise TypeError(f"traces[{where}] must be a Trace, got {type(t).__name__}")
        out.append(dataclasses.replace(t, label=label) if label is not None and not t.label else t)
    if not out:
        raise ValueError("traces is empty: give at least one Trace")
    return out


def plot_curves(traces: Any, key: str = "values", *, per: str = "step", subtract: float | None = None,
                logy: bool | None = None, ax: Any = None, title: str | None = None, ylabel: str | None = None,
                xlabel: str | None = None, styles: Sequence[dict] | None = None, first: int | None = None,
                figsize: tuple[float, float] = (6.4, 4.0)) -> Any:
    """Plot ``key`` of each trace against step (``per="step"``, from ``trace.series``),
    epoch (``per="epoch"``, from ``trace.epochs``, epochs numbered from 1) or gradient
    evaluations (``per="evals"``: :func:`optimlab.record.evaluations`, so that methods with
    line searches and first-order methods are compared at equal cost).

    ``subtract``: plot ``value − subtract`` (e.g. ``f − f*``); with a log axis the
    values are clipped below at the smallest positive float so that reaching the
    minimum exactly stays on the plot. ``logy=None`` picks a log axis when every
    finite value is positive and they span more than two decades.

    ``first``: the x value of the first entry (default 0 for steps, 1 for epochs; the
    per-update series ``lrs`` is best drawn with ``first=1``).

    ``styles``: per-trace line options; by default each method's colour and the line
    styles of :func:`optimlab.viz._style.run_styles` (the colours of every other picture).
    The x axis has integer ticks (steps and epochs are whole numbers).

    Returns the matplotlib Figure. Non-finite values (a diverged run) end the line.
    """
    if per not in ("step", "epoch", "evals"):
        raise ValueError(f"per must be 'step', 'epoch' or 'evals', got {per!r}")
    items = trace_list(traces)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    else:
        fig = ax.figure
    ys = []
    for t in items:
        source = t.epochs if per == "epoch" else t.series
        if key not in source:
            raise KeyError(f"{t.label or 'trace'} has no {per} series {key!r}; it has {sorted(source)}")
        y = np.asarray(source[key], dtype=float)
        if y.ndim > 1:
            raise ValueError(f"series {key!r} has shape {y.shape}; plot_curves draws 1-D series")
        if subtract is not None:
            y = y - subtract
        ys.append(y)
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    if logy is None:
        pos = finite[finite > 0]
        logy = bool(finite.size) and bool((finite > 0).all() or (subtract is not None and pos.size)) \
            and pos.size > 0 and pos.max() / max(pos.min(), 1e-300) > 100
    given = styles if styles is not None and len(styles) == len(items) and all(styles) else None
    computed = [dict(s) for s in given] if given else run_styles(items, styles, path=False, lw=(1.5, 2.6))
    for i, (t, y) in enumerate(zip(items, ys)):
        if per == "evals":
            x = evaluations(t, "grad")[: len(y)] + (first or 0)
        else:
            x = np.arange(len(y)) + (first if first is not None else (1 if per == "epoch" else 0))
        if logy:
            y = np.where(np.isfinite(y), np.maximum(y, np.finfo(float).tiny), np.nan)
        style = computed[i]
        style.setdefault("label", plain_text(t.label or f"run {i}"))
        style.setdefault("lw", 1.6)
        ax.plot(x, y, **style)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel or ("gradient evaluations" if per == "evals" else per))
    ax.set_ylabel(ylabel or (f"{key} − {subtract:g}" if subtract not in (None, 0) else key))
    if title:
        ax.set_title(plain_text(title))
    ax.grid(True, which="major", alpha=0.3)
    if len(items) > 1 or items[0].label:
        ax.legend(fontsize=8, frameon=False)
    return fig


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save a figure (format from the suffix), create folders, close the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
