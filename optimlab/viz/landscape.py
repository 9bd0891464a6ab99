"""Paths of optimizers over a 2-D function: level lines (:func:`plot_contour`) and the
3-D surface (:func:`plot_surface`).

Level lines are drawn on a log scale by default: the levels are
``base + logspace(lo, top)`` with ``base`` the smallest value on the grid (or f* when
it is smaller) and ``top = max − base``, so the narrow bottom of a valley is as
visible as its steep walls. This is the picture of the lectures (notebook 001 draws
log-spaced level lines; Ruder's overview shows Beale's function, a long valley and a
saddle this way). Undefined regions (``√x`` for ``x < 0``) are left blank.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm

from ._common import (
    call_function,
    evaluate_grid,
    f_star_text,
    found_minimizer,
    function_dim,
    function_title,
    known_f_min,
    known_minimizers,
    known_saddles,
    legend_label,
    plain_text,
    plot_window,
    resolve_function,
    unbounded_below,
)
from ._style import run_styles
from .curves import place_legend, trace_list

__all__ = ["plot_contour", "plot_surface", "contour_levels", "draw_landscape", "wrap_title", "titled", "mark_points"]

BACKGROUND_CMAP = "YlGnBu_r"  # dark bottom, pale walls: the coloured paths stand out on both


def contour_levels(Z: np.ndarray, n: int = 30, log: bool = True, f_min: float | None = None) -> np.ndarray:
    """``n`` increasing level values for the grid values ``Z`` (NaN ignored).

    ``log=True``: ``base + geomspace(lo, top, n)`` with ``base = min(min Z, f_min)``,
    ``top = max Z − base`` and ``lo`` the 0.2 % quantile of the positive ``Z − base``
    (at least ``top·1e-9``): log-spaced in ``f − min``, which also works for functions
    with negative values. ``log=False``: evenly spaced between min and max.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"levels must be an integer >= 2 or a sequence of values, got {n!r}")
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("the function is undefined (NaN or inf) everywhere in the window; choose another domain")
    zmin, zmax = float(finite.min()), float(finite.max())
    if zmax <= zmin:  # a flat window
        return np.linspace(zmin - 1.0, zmin + 1.0, n)
    if not log:
        return np.linspace(zmin, zmax, n)
    base = min(zmin, f_min) if f_min is not None else zmin
    d = finite - base
    top = float(d.max())
    pos = d[d > 0]
    lo = max(float(np.quantile(pos, 0.002)), top * 1e-9)
    if lo >= top:
        lo = top / 10
    return base + np.geomspace(lo, top, n)


def draw_landscape(ax: Any, function: Any, window: Any, *, levels: Any = 30, log_levels: bool = True,
                   filled: bool = True, grid: int = 300, f_min: float | None = None) -> np.ndarray:
    """Draw the level lines of ``function`` over ``window`` on ``ax``; return the level values."""
    X, Y, Z = evaluate_grid(function, window, grid)
    if isinstance(levels, (int, np.integer)):
        lv = contour_levels(Z, int(levels), log_levels, f_min)
    else:
        lv = np.asarray(levels, dtype=float)
        if lv.ndim != 1 or lv.size < 2 or not (np.diff(lv) > 0).all():
            raise ValueError(f"levels must be an integer >= 2 or increasing values, got {levels!r}")
    cmap = plt.get_cmap(BACKGROUND_CMAP)
    norm = BoundaryNorm(lv, cmap.N, extend="both")
    drawn = []
    if filled:
        drawn.append(ax.contourf(X, Y, Z, levels=lv, cmap=cmap, norm=norm, alpha=0.33, extend="both",
                                 antialiased=True))
    drawn.append(ax.contour(X, Y, Z, levels=lv, cmap=cmap, norm=norm, linewidths=0.7, alpha=0.9))
    if np.isnan(Z).any():  # hatch (grey) where the function is undefined
        with plt.rc_context({"hatch.color": "0.55", "hatch.linewidth": 0.8}):
            drawn.append(ax.contourf(X, Y, np.isnan(Z).astype(float), levels=[0.5, 1.5], colors="none",
                                     hatches=["////"]))
    for artist in drawn:  # clipped to the axes: the layout need not measure thousands of level paths
        artist.set_in_layout(False)
    (x0, x1), (y0, y1) = window
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return lv


def wrap_title(title: str, width: int = 64) -> str:
    """Break a long title into lines at spaces (a formula in $...$ is never split; line breaks
    already in it are kept)."""
    if "\n" in title:
        return "\n".join(wrap_title(line, width) for line in title.split("\n"))
    if len(title) <= width:
        return title
    import textwrap

    parts = title.split("$")
    if len(parts) % 2 == 0:  # an unmatched $: leave it alone
        return title
    # spaces inside $...$ become unbreakable for the wrap, and come back after it
    joined = "$".join(p if k % 2 == 0 else p.replace(" ", "\0") for k, p in enumerate(parts))
    return "\n".join(textwrap.wrap(joined, width, break_long_words=False)).replace("\0", " ")


def titled(function: Any, title: str | None, items: Sequence[Any] = ()) -> str:
    """The picture's title: ``title`` or the function's, with ``f* = −∞ (unbounded below)``
    added for a function that has no minimum."""
    text = plain_text(title) if title is not None else function_title(function)
    if unbounded_below(function, items) and "∞" not in text:
        note = f_star_text(function, items)
        text += ("\n" if len(text) + len(note) > 60 else "; ") + note
    return text


def mark_points(ax: Any, function: Any, window: Any, found: np.ndarray, mark_minimizers: bool) -> None:
    """Mark the known minimizers (gold star), a minimizer found on a grid (hollow star) and the
    known saddle points (black ✕) that lie in the window."""
    (x0, x1), (y0, y1) = window

    def inside(m: np.ndarray) -> np.ndarray:
        return m[(m[:, 0] >= x0) & (m[:, 0] <= x1) & (m[:, 1] >= y0) & (m[:, 1] <= y1)] if len(m) else m

    if mark_minimizers:
        m = inside(known_minimizers(function))
        if len(m):
            ax.plot(m[:, 0], m[:, 1], ls="none", marker="*", ms=16, mfc="gold", mec="black", mew=1.0,
                    zorder=5, label="minimum" if len(m) == 1 else "minima")
        f = inside(np.asarray(found, dtype=float).reshape(-1, 2))
        if len(f):
            ax.plot(f[:, 0], f[:, 1], ls="none", marker="*", ms=16, mfc="none", mec="black", mew=1.4, zorder=5,
                    label="minimum (found on a grid)")
    s = inside(known_saddles(function))
    if len(s):
        ax.plot(s[:, 0], s[:, 1], ls="none", marker="X", ms=12, mfc="white", mec="black", mew=1.4, zorder=5,
                label="saddle point")


def plot_contour(function: Any, traces: Any = (), *, domain: Any = None, levels: Any = 30,
                 log_levels: bool | None = None, ax: Any = None, title: str | None = None, mark_start: bool = True,
                 mark_minimizers: bool = True, settings: bool = True, legend: str | bool = "auto",
                 styles: Sequence[dict] | None = None, grid: int = 300, figsize: tuple[float, float] | None = None
                 ) -> Any:
    """Level lines of a 2-D ``function`` with the paths of ``traces`` on top.

    Args:
        function: a test function object, a registered name, a formula string, or any
            callable on points of shape (..., 2).
        traces: a :class:`~optimlab.record.Trace`, a list of them, or ``{label: trace}``;
            each needs the ``params`` series (steps + 1, 2). May be empty (the function alone).
        domain: ``((x0, x1), (y0, y1))``; default the function's ``domain``, else the box
            around the paths.
        levels: number of levels (log-spaced, see :func:`contour_levels`) or the values.
        log_levels: log-spaced levels in ``f − min`` (True) or evenly spaced (False). None
            (default): log-spaced unless the function is known to be unbounded below
            (``f_min = −inf``, a saddle), where evenly spaced levels show the shape better.
        ax: draw into this axes (else a new figure).
        mark_start: mark each distinct start point (white circle with black edge).
        mark_minimizers: mark the function's known minimizers (gold star).
        settings: add each optimizer's recorded options to its legend entry.
        legend: ``"auto"`` (outside on the right for a new figure, inside otherwise),
            ``"outside"``, ``"inside"`` or False.
        styles: per-trace matplotlib line options overriding the default colour/marker.

    Returns the matplotlib Figure; its first axes holds one ``Line2D`` per path whose
    ``gid`` is ``"path"``.

    Example:
        >>> import optimlab
        >>> fig = plot_contour("beale", optimlab.compare("beale", {"Adam": "adam:lr=0.1"}, (1, 1.5)))
        >>> [line.get_label() for line in fig.axes[0].get_lines() if line.get_gid() == "path"]
        ['Adam (lr=0.1)']
    """
    if legend not in ("auto", "outside", "inside", False, None):
        raise ValueError(f"legend must be 'auto', 'outside', 'inside' or False, got {legend!r}")
    function = resolve_function(function)
    items = trace_list(traces) if not (isinstance(traces, (list, tuple, dict)) and len(traces) == 0) else []
    dim = function_dim(function)
    if dim is not None and dim != 2:
        raise ValueError(f"plot_contour draws functions of 2 variables; this one has dim={dim}")
    for i, t in enumerate(items):
        p = np.asarray(t.params)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"traces[{i}] ({t.label!r}) has params of shape {p.shape}; plot_contour needs "
                             f"(steps + 1, 2)")
    found = found_minimizer(function, items)
    window = plot_window(function, items, domain, extra=found)
    labels = [legend_label(t, i, settings) for i, t in enumerate(items)]
    new_fig = ax is None
    where = legend if legend != "auto" else ("outside" if new_fig else "inside")
    below = where == "outside" and max(map(len, labels), default=0) > 30
    if new_fig:
        wide = where == "outside" and bool(items) and not below
        fig, ax = plt.subplots(figsize=figsize or ((9.6, 5.6) if wide else (7.2, 6.6) if below else (6.4, 5.6)),
                               constrained_layout=True)
    else:
        fig = ax.figure
    f_min = known_f_min(function, items)
    if log_levels is None:
        log_levels = not unbounded_below(function, items)
    draw_landscape(ax, function, window, levels=levels, log_levels=log_levels, grid=grid, f_min=f_min)
    for i, (t, style) in enumerate(zip(items, run_styles(items, styles))):
        p = np.asarray(t.params, dtype=float)
        style.setdefault("ms", 4.5)
        style.setdefault("markeredgecolor", "white")
        style.setdefault("markeredgewidth", 0.5)
        style.setdefault("label", labels[i])
        (line,) = ax.plot(p[:, 0], p[:, 1], **style)
        line.set_gid("path")
        last = p[np.isfinite(p).all(axis=1)][-1:]
        if len(last):  # where the path ended: a bigger marker of its colour
            ax.plot(last[:, 0], last[:, 1], ls="none", marker=style.get("marker", "o"), ms=8, color=style["color"],
                    markeredgecolor="black", markeredgewidth=0.8, zorder=4)
    if mark_start and items:
        starts = np.unique(np.round(np.array([np.asarray(t.params, dtype=float)[0] for t in items]), 12), axis=0)
        ax.plot(starts[:, 0], starts[:, 1], ls="none", marker="o", ms=10, mfc="white", mec="black", mew=1.6,
                zorder=5, label="start")
    mark_points(ax, function, window, found, mark_minimizers)
    ax.set_title(wrap_title(titled(function, title, items), 58 if below or not new_fig else 64), fontsize=11)
    if legend and (items or mark_minimizers) and ax.get_legend_handles_labels()[0]:
        place_legend(ax, "below" if below else where)
    return fig


def plot_surface(function: Any, traces: Any = (), *, domain: Any = None, log_z: bool = False, ax: Any = None,
                 title: str | None = None, grid: int = 120, elev: float = 35.0, azim: float = -60.0,
                 settings: bool = True, styles: Sequence[dict] | None = None,
                 figsize: tuple[float, float] = (9.0, 6.2)) -> Any:
    """The surface of a 2-D ``function`` in 3-D with the paths of ``traces`` lifted onto it.

    ``log_z=True`` draws ``log10(f − min + δ)`` (``δ`` the 0.2 % quantile of ``f − min`` on the grid)
    instead of ``f``, which makes functions with a huge range (Beale) readable. A path
    point's height is its recorded value (``trace.values``; the function is evaluated
    only when a trace has no values). Points outside the window are not drawn.

    Returns the Figure; the paths are the axes' ``Line2D``s with ``gid == "path"``.
    """
    function = resolve_function(function)
    items = trace_list(traces) if not (isinstance(traces, (list, tuple, dict)) and len(traces) == 0) else []
    dim = function_dim(function)
    if dim is not None and dim != 2:
        raise ValueError(f"plot_surface draws functions of 2 variables; this one has dim={dim}")
    window = plot_window(function, items, domain)
    X, Y, Z = evaluate_grid(function, window, grid)
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("the function is undefined everywhere in the window; choose another domain")
    zmin, zmax = float(finite.min()), float(finite.max())
    pos = finite[finite > zmin] - zmin
    # the offset of the log height: the 0.2 % quantile of f − min on the grid (as for the levels),
    # so the valley floor is not a comb of spikes towards log(0)
    delta = max(float(np.quantile(pos, 0.002)) if pos.size else 1.0, (zmax - zmin) * 1e-9, 1e-12)

    def lift(z: np.ndarray) -> np.ndarray:
        return np.log10(np.maximum(z - zmin, 0.0) + delta) if log_z else z

    if ax is None:
        fig = plt.figure(figsize=figsize, constrained_layout=True)
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    ax.computed_zorder = False  # paths over the surface, not hidden by matplotlib's depth sort
    ax.plot_surface(X, Y, lift(Z), cmap=BACKGROUND_CMAP, rstride=1, cstride=1, linewidth=0, antialiased=True,
                    alpha=0.7, zorder=1)
    (x0, x1), (y0, y1) = window
    for i, (t, style) in enumerate(zip(items, run_styles(items, styles, lw=(1.6, 2.6)))):
        p = np.asarray(t.params, dtype=float)
        z = np.asarray(t.series["values"], dtype=float) if "values" in t.series else None
        if z is None or z.shape[0] != p.shape[0]:
            z = call_function(function, p)
        keep = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1) & np.isfinite(z)
        px, py, pz = (np.where(keep, a, np.nan) for a in (p[:, 0], p[:, 1], lift(np.where(keep, z, zmin))))
        style.setdefault("ms", 3.5)
        style.setdefault("label", legend_label(t, i, settings))
        style["zorder"] = 10 + 0.01 * i
        (line,) = ax.plot(px, py, pz, **style)
        line.set_gid("path")
    m = known_minimizers(function)
    if len(m):
        inside = m[(m[:, 0] >= x0) & (m[:, 0] <= x1) & (m[:, 1] >= y0) & (m[:, 1] <= y1)]
        if len(inside):
            ax.plot(inside[:, 0], inside[:, 1], lift(call_function(function, inside)), ls="none", marker="*", ms=14,
                    mfc="gold", mec="black", zorder=11, label="minimum")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("log10(f − min)" if log_z else "f")
    ax.view_init(elev=elev, azim=azim)
    s = known_saddles(function)
    s = s[(s[:, 0] >= x0) & (s[:, 0] <= x1) & (s[:, 1] >= y0) & (s[:, 1] <= y1)] if len(s) else s
    if len(s):
        ax.plot(s[:, 0], s[:, 1], lift(call_function(function, s)), ls="none", marker="X", ms=11, mfc="white",
                mec="black", zorder=11, label="saddle point")
    ax.set_title(wrap_title(titled(function, title, items)), fontsize=11)
    if items:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig
