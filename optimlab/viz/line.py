"""Functions of one variable: the curve f(x) with each run's path drawn on it.

The one-variable counterpart of :func:`~optimlab.viz.plot_contour`: the window is the
function's domain (a registered function), else the box around the paths, the start
and, for a user's formula, its minimizer found on a grid; points where f is undefined
are hatched; each run is drawn at its points ``(x_k, f(x_k))`` in its method's colour
(:func:`~optimlab.viz.run_styles`).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ._common import call_function, found_minimizer, known_points, legend_label, resolve_function, user_formula
from ._style import run_styles
from .curves import place_legend, trace_list
from .landscape import titled, wrap_title

__all__ = ["plot_function_1d"]


def _window_1d(function: Any, items: Sequence[Any], extra: np.ndarray, pad: float = 0.08) -> tuple[float, float]:
    fd = getattr(function, "domain", None)
    if fd is not None and not user_formula(function):
        d = np.asarray(fd, dtype=float).reshape(-1, 2)
        return float(d[0, 0]), float(d[0, 1])
    pts = [np.asarray(t.params, dtype=float)[:, 0] for t in items] + [np.asarray(extra, dtype=float).reshape(-1)]
    pts.append(known_points(function).reshape(-1))
    allp = np.concatenate(pts)
    allp = allp[np.isfinite(allp)]
    lo, hi = (float(allp.min()), float(allp.max())) if allp.size else (-1.0, 1.0)
    span = max(hi - lo, 1e-3 * max(1.0, abs(hi)))
    return lo - span * pad - span * 0.1, hi + span * pad + span * 0.1


def plot_function_1d(function: Any, traces: Any = (), *, title: str | None = None, settings: bool = True,
                     styles: Sequence[dict] | None = None, grid: int = 600,
                     figsize: tuple[float, float] = (8.0, 4.6)) -> Any:
    """The curve of a one-variable ``function`` with the points of each trace on it.

    Returns the Figure (one axes); each run is a ``Line2D`` with ``gid == "path"`` whose x
    data are the trace's ``params[:, 0]`` and y data ``f`` there (the recorded values when
    the trace has them).
    """
    function = resolve_function(function)
    items = trace_list(traces) if not (isinstance(traces, (list, tuple, dict)) and len(traces) == 0) else []
    for i, t in enumerate(items):
        if np.ndim(t.params) != 2 or np.shape(t.params)[1] != 1:
            raise ValueError(f"traces[{i}] ({t.label!r}) has params of shape {np.shape(t.params)}; "
                             f"plot_function_1d needs (steps + 1, 1)")
    found = found_minimizer(function, items).reshape(-1)
    x0, x1 = _window_1d(function, items, found)
    xs = np.linspace(x0, x1, grid)
    ys = call_function(function, xs[:, None])
    ys = np.where(np.isfinite(ys), ys, np.nan)
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    ax.plot(xs, ys, color="0.45", lw=1.2, zorder=2, label="f(x)")
    bad = np.isnan(ys)
    if bad.any():  # hatch where f is undefined
        ax.fill_between(xs, 0, 1, where=bad, transform=ax.get_xaxis_transform(), facecolor="none",
                        hatch="////", edgecolor="0.6", lw=0, label="f undefined")
    labels = [legend_label(t, i, settings) for i, t in enumerate(items)]
    for t, style, label in zip(items, run_styles(items, styles), labels):
        p = np.asarray(t.params, dtype=float)[:, 0]
        v = np.asarray(t.series["values"], dtype=float) if "values" in t.series else None
        if v is None or v.shape != p.shape:
            v = call_function(function, p[:, None])
        style.setdefault("ms", 5)
        style.setdefault("markeredgecolor", "white")
        style.setdefault("markeredgewidth", 0.5)
        (line,) = ax.plot(p, v, label=label, **style)
        line.set_gid("path")
    if items:
        p0 = float(np.asarray(items[0].params, dtype=float)[0, 0])
        ax.plot([p0], call_function(function, np.array([[p0]])), ls="none", marker="o", ms=10, mfc="white",
                mec="black", mew=1.6, zorder=5, label="start")
    known = known_points(function).reshape(-1)
    for pts, kw in ((known, {"mfc": "gold", "label": "minimum"}),
                    (found, {"mfc": "none", "label": "minimum (found on a grid)"})):
        pts = pts[(pts >= x0) & (pts <= x1)] if pts.size else pts
        if pts.size:
            ax.plot(pts, call_function(function, pts[:, None]), ls="none", marker="*", ms=16, mec="black",
                    mew=1.2, zorder=6, **kw)
    ax.set_xlim(x0, x1)
    ax.set_xlabel(getattr(function, "variables", ["x"])[0])
    ax.set_ylabel("f")
    ax.grid(True, alpha=0.3)
    long = max(map(len, labels), default=0) > 30
    ax.set_title(wrap_title(titled(function, title, items), 70), fontsize=11)
    place_legend(ax, "below" if long else "inside")
    return fig
