"""How fast the runs converge: ``f − f*`` and ``‖∇f‖`` per step, and the learning rate per step.

Both are :func:`~optimlab.viz.plot_curves` with the colours of the path pictures,
so a method has the same colour in the level-line picture and in its curves.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ._common import f_star_text, known_f_min, legend_label, plain_text, unbounded_below
from ._style import run_styles
from .curves import plot_curves, trace_list

__all__ = ["plot_convergence", "plot_lr"]


def _styles(items: list, styles: Sequence[dict] | None, settings: bool) -> list[dict]:
    out = run_styles(items, styles, path=False, lw=(1.5, 2.8))
    for i, (t, s) in enumerate(zip(items, out)):
        s.pop("marker", None)
        s.pop("markevery", None)
        s.setdefault("label", legend_label(t, i, settings))
    return out


def plot_convergence(traces: Any, f_min: float | None = None, *, function: Any = None, title: str | None = None,
                     settings: bool = False, styles: Sequence[dict] | None = None,
                     figsize: tuple[float, float] = (10.0, 3.9), per: str = "step") -> Any:
    """Two panels: ``f − f*`` versus step and ``‖∇f‖`` versus step, on log axes
    (``per="evals"``: versus gradient evaluations, the cost of line-search and
    higher-order methods; see :func:`optimlab.viz.plot_curves`).

    ``f_min`` is f*; when None it comes from ``function.f_min`` or the traces' recorded
    function (``config["function"]["f_min"]``). When f* is unknown or not finite (a
    saddle is unbounded below), the left panel shows ``f`` itself on a linear axis.
    Values that reach f* exactly are drawn at the smallest positive float rather
    than dropped.

    Returns the Figure (two axes, one line per trace in each).
    """
    items = trace_list(traces)
    if f_min is None:
        f_min = known_f_min(function, items)
    elif not np.isfinite(float(f_min)):
        f_min = None
    st = _styles(items, styles, settings)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    if f_min is not None:
        plot_curves(items, "values", per=per, subtract=float(f_min), logy=True, ax=a1, styles=st,
                    ylabel="f − f*", title="f − f*  (log scale)")
    else:
        note = f_star_text(function, items) if unbounded_below(function, items) else "f* unknown"
        plot_curves(items, "values", per=per, logy=False, ax=a1, styles=st, ylabel="f", title=f"f  ({note})")
    plot_curves(items, "grad_norms", per=per, logy=True, ax=a2, styles=st, ylabel="‖∇f‖", title="‖∇f‖  (log scale)")
    a1.get_legend() and a1.get_legend().remove()
    handles, labels = a2.get_legend_handles_labels()
    a2.get_legend() and a2.get_legend().remove()
    long = max(map(len, labels), default=0) > 30
    fig.legend(handles, labels, loc="outside lower center" if long else "outside right upper", fontsize=8.5,
               frameon=False, ncol=2 if long and len(labels) > 2 and max(map(len, labels)) <= 45 else 1)
    if title:
        fig.suptitle(plain_text(title), fontsize=11)
    return fig


def plot_lr(traces: Any, *, ax: Any = None, title: str | None = "learning rate per step", settings: bool = False,
            styles: Sequence[dict] | None = None) -> Any:
    """The learning rate of each update (``trace.lrs``) versus step; a log axis when it spans
    more than two decades (a decay schedule). Returns the Figure."""
    items = trace_list(traces)
    return plot_curves(items, "lrs", ax=ax, styles=_styles(items, styles, settings), ylabel="learning rate",
                       title=title, first=1)
