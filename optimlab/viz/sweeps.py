"""Pictures of sweeps and benchmarks: the stability heatmap, lr-sensitivity curves,
the best configuration's path, and Dolan–Moré performance profiles.

Every function reads records (a :class:`~optimlab.sweeps.SweepResult`, stored trial
numbers) and returns a matplotlib ``Figure``; nothing here runs an optimizer.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, Normalize

from .._spec import format_value
from ..functions import get as get_function
from ..record import Trace
from ..trace_list import step_counts
from ._common import plain_text, resolve_function
from ._style import run_styles
from .landscape import plot_contour

__all__ = ["plot_heatmap", "plot_sensitivity", "plot_best_path", "plot_performance_profile"]

_TINY = 1e-300


def _gap(values: np.ndarray, f_min: float) -> tuple[np.ndarray, str]:
    if math.isfinite(f_min):
        return values - f_min, "f − f*"
    return values, "f"


def plot_heatmap(result: Any, x: str = "lr", y: str = "momentum", *, by: str = "final", log: bool | None = None,
                 ax: Any = None, title: str | None = None, annotate: bool | None = None) -> Any:
    """The final (or best) value of every (x, y) cell of a sweep: the stability region.

    Cells hold the median over seeds (the minimum over any other swept argument). The
    colour scale is logarithmic in ``f − f*`` (when f* is known) by default; diverged
    cells are hatched grey with a ✕; the best cell carries a white star.

    >>> import optimlab
    >>> res = optimlab.sweep("ill-conditioned", "sgd", grid={"lr": optimlab.logspace(1e-3, 1, 30),
    ...                      "momentum": [0, 0.5, 0.9, 0.99]}, steps=200)
    >>> fig = plot_heatmap(res, "lr", "momentum")

    ``by``: ``"final"`` or ``"best"`` value of each run (:meth:`SweepResult.values`).
    """
    xs, ys, Z = result.values_grid(x, y, by=by)
    Z, zlabel = _gap(np.asarray(Z, dtype=float), result.f_min)
    div = np.isinf(Z) & (Z > 0)
    missing = np.isnan(Z)
    ok = ~div & ~missing
    if result.problem.get("type") == "training":
        zlabel = "validation loss"
    if log is None:  # a log scale when the values span more than a decade
        log = bool(ok.any()) and bool((Z[ok] >= 0).all()) and float(Z[ok].max()) > 10 * float(Z[ok].min())
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, min(12.0, 0.22 * len(xs) + 3)), max(3.2, 0.45 * len(ys) + 1.8)),
                               constrained_layout=True)
    else:
        fig = ax.figure
    shown = np.where(ok, Z, np.nan)
    if log:
        shown = np.where(ok, np.maximum(shown, _TINY), np.nan)
        pos = shown[ok]
        vmin = max(float(np.nanmin(pos)), float(np.nanmax(pos)) * 1e-16) if pos.size else 1e-16
        vmax = float(np.nanmax(pos)) if pos.size else 1.0
        clipped = ok & (Z < vmin)  # said in the title and by the colour bar's arrow, never silently
        shown = np.where(ok, np.maximum(shown, vmin), np.nan)
        norm = LogNorm(vmin=vmin, vmax=vmax if vmax > vmin else vmin * 10)
    else:
        clipped = np.zeros_like(ok)
        norm = Normalize(vmin=float(np.nanmin(shown)) if ok.any() else 0,
                         vmax=float(np.nanmax(shown)) if ok.any() else 1)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(shown), origin="lower", aspect="auto", cmap=cmap, norm=norm,
                   interpolation="nearest", extent=(-0.5, len(xs) - 0.5, -0.5, len(ys) - 0.5))
    for j, i in zip(*np.nonzero(div)):
        ax.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#8a8a8a", lw=0))
    notes = []
    best_cell = None
    if div.any():
        jj, ii = np.nonzero(div)
        ax.scatter(ii, jj, marker="x", s=18 if len(xs) > 20 else 40, c="#b22222", linewidths=1.0, zorder=3)
        notes.append("✕ hatched: diverged")
    if clipped.any():
        notes.append(f"{int(clipped.sum())} cell(s) below {norm.vmin:.0e}: lowest colour")
    if ok.any():
        j, i = np.unravel_index(np.nanargmin(np.where(ok, Z, np.nan)), Z.shape)
        best_cell = (i, j)
        notes.insert(0, f"★ best: {x}={format_value(xs[i], 3)}, {y}={format_value(ys[j], 3)}")
    step = max(1, int(math.ceil(len(xs) / 10)))
    ax.set_xticks(range(0, len(xs), step))
    ax.set_xticklabels([format_value(v, 3) for v in xs[::step]], rotation=45, ha="right")
    ystep = max(1, int(math.ceil(len(ys) / 12)))
    ax.set_yticks(range(0, len(ys), ystep))
    ax.set_yticklabels([format_value(v, 3) for v in ys[::ystep]])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    cb = fig.colorbar(im, ax=ax, pad=0.01, extend="min" if clipped.any() else "neither")
    cb.set_label(f"{by} {zlabel}" + (" (log scale)" if log else ""))
    if annotate is None:
        annotate = len(xs) <= 10 and len(ys) <= 10
    prob = result.problem.get("name", "")
    head = title or (f"{result.optimizer.get('name', '')} on {prob}: {by} {zlabel} after "
                     f"{int(step_counts(result.traces).max(initial=0))} steps")
    lines = [head]
    for note in notes:  # as many notes on a line as fit the picture's width
        room = int(fig.get_figwidth() * 9)
        if len(lines) > 1 and len(lines[-1]) + 4 + len(note) <= room:
            lines[-1] += "    " + note
        else:
            lines.append(note)
    ax.set_title(plain_text("\n".join(lines)), fontsize=10, loc="left")
    if best_cell is not None:  # in the corner when the cells carry numbers
        bi, bj = best_cell
        ax.scatter([bi + (0.34 if annotate else 0)], [bj + (0.3 if annotate else 0)], marker="*",
                   s=110 if annotate else 160, c="white", edgecolors="black", linewidths=0.8, zorder=4)
    if annotate:
        for j in range(len(ys)):
            for i in range(len(xs)):
                if ok[j, i]:
                    v = Z[j, i]
                    light = norm(max(v, norm.vmin)) < 0.55 if log else norm(v) < 0.55
                    ax.text(i, j, f"{v:.2g}", ha="center", va="center", fontsize=7,
                            color="white" if light else "black")
    return fig


def label_styles(items: Mapping[str, Any]) -> list[dict]:
    """The line options of each entry of ``{label: SweepResult or anything}``: its method's
    colour (:func:`optimlab.viz.run_styles`), read from a SweepResult's optimizer or from
    the label as a spec (a benchmark's ``"adam"``, ``"momentum:lr=0.01"``)."""
    traces = []
    for label, item in items.items():
        opt = getattr(item, "optimizer", None)
        cfg = {"optimizer": opt.get("name"), "options": opt.get("options") or {}} if isinstance(opt, dict) else {}
        traces.append(Trace(label=str(label), config=cfg))
    return run_styles(traces, path=False, lw=(1.6, 1.6))


def _curves_from(items: Mapping[str, Any], param: str, by: str) -> list[tuple[str, np.ndarray, np.ndarray,
                                                                                np.ndarray, np.ndarray, float]]:
    """label → (xs, median, lo, hi, f_min) per optimizer."""
    out = []
    for label, item in items.items():
        if hasattr(item, "values_grid"):
            vals = item.values(by)
            vals = np.where(np.isnan(vals), np.inf, vals)
            per_x: dict[Any, list[np.ndarray]] = {}
            for idx in item.groups().values():  # one configuration, all its seeds
                c = item.configs[idx[0]]
                if param not in c:
                    raise ValueError(f"{label}: {param!r} is not a swept argument")
                per_x.setdefault(c[param], []).append(vals[idx])
            xs = np.array(sorted(per_x), dtype=float)
            med, lo, hi = [], [], []
            for k in sorted(per_x):  # at each x the best configuration over the other arguments
                best = min(per_x[k], key=lambda v: np.median(v))
                med.append(np.median(best))
                lo.append(np.min(best))
                hi.append(np.max(best))
            med, lo, hi = np.array(med), np.array(lo), np.array(hi)
            if item.seeds is None or len(item.seeds) < 2:
                lo = hi = med
            f_min = item.f_min
        else:
            xs_raw, ys_raw = item
            xs = np.asarray(xs_raw, dtype=float)
            med = np.asarray(ys_raw, dtype=float)
            order = np.argsort(xs)
            xs, med = xs[order], med[order]
            lo = hi = med
            f_min = float("nan")
        out.append((str(label), xs, med, lo, hi, f_min))
    return out


def plot_sensitivity(items: Mapping[str, Any], param: str = "lr", *, by: str = "final", ax: Any = None,
                     title: str | None = None, gap: bool = True, ylabel: str | None = None) -> Any:
    """Final value versus one hyperparameter, one line per optimizer.

    ``items``: ``{label: SweepResult}`` (median over seeds and other swept arguments,
    with a min–max band; at each value the best configuration over the other swept
    arguments) or ``{label: (xs, values)}`` (e.g. a benchmark's tuning trials, already
    ``f − f*``). Diverged settings are drawn as ✕ on the top edge. Nothing is clamped
    silently: on a log axis the bottom is at most 16 decades below the largest value, and
    values below it are drawn as ▼ on the bottom edge with a legend entry saying "below
    <bottom>". ``by``: the ``"final"``
    or ``"best"`` value of each run of a SweepResult (:meth:`SweepResult.values`, which
    checks it before anything is drawn).
    """
    if not isinstance(items, Mapping) or not items:
        raise ValueError("items must be a non-empty mapping {label: SweepResult or (xs, values)}")
    curves = _curves_from(items, param, by)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.6, 4.2), constrained_layout=True)
    else:
        fig = ax.figure
    finite_all = []
    for _, _xs, med, lo, hi, f_min in curves:
        sub = f_min if (gap and math.isfinite(f_min)) else 0.0
        for arr in (med, lo, hi):
            a = arr - sub
            finite_all.extend(a[np.isfinite(a)].tolist())
    pos = [v for v in finite_all if v > 0]
    logy = bool(pos) and all(v >= 0 for v in finite_all) and max(pos) / max(min(pos), _TINY) > 100
    floor = max(min(pos) * 0.5, max(pos) * 1e-16, _TINY) if pos else _TINY
    top = (max(pos) * 3 if logy else max(finite_all) + 0.05 * (abs(max(finite_all)) + 1)) if finite_all else 1.0
    styles = label_styles(items)
    any_div = any_below = False
    for n, (label, xs, med, lo, hi, f_min) in enumerate(curves):
        sub = f_min if (gap and math.isfinite(f_min)) else 0.0
        col = styles[n]["color"]
        m = med - sub
        ok = np.isfinite(m)
        y = np.where(ok, np.maximum(m, floor) if logy else m, np.nan)
        below = ok & (m < floor) if logy else np.zeros_like(ok)
        ax.plot(xs, y, marker="o", ms=3, lw=1.6, color=col, ls=styles[n]["ls"], label=plain_text(label))
        if below.any():  # drawn at the bottom edge, and said so
            any_below = True
            ax.scatter(xs[below], np.full(below.sum(), floor), marker="v", s=36, color=col, edgecolors="black",
                       linewidths=0.5, zorder=4, clip_on=False)
        if (lo is not med) and np.any(np.isfinite(hi) & (hi != lo)):
            l_, h_ = lo - sub, hi - sub
            band = np.isfinite(l_) & np.isfinite(h_)
            if logy:
                l_, h_ = np.maximum(l_, floor), np.maximum(h_, floor)
            ax.fill_between(xs, np.where(band, l_, np.nan), np.where(band, h_, np.nan), color=col, alpha=0.15, lw=0)
        bad = ~ok
        if bad.any():
            any_div = True
            y_mark = top * (1.25 ** n) if logy else top + 0.02 * n * abs(top)
            ax.scatter(xs[bad], np.full(bad.sum(), y_mark), marker="x", color=col, s=30, clip_on=False, zorder=3)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_ylim(bottom=floor if logy else None, top=top * (1.25 ** len(curves) * 1.3 if logy else 1.05))
    sub_label = "f − f*" if gap and any(math.isfinite(c[5]) for c in curves) else "value"
    if any(getattr(it, "problem", {}).get("type") == "training" for it in items.values()):
        sub_label = "validation loss"
    ax.set_xlabel(param)
    ax.set_ylabel(ylabel or (f"{by} {sub_label}" + (" (median over seeds, min–max band)"
                                                       if any(c[3] is not c[2] for c in curves) else "")))
    if title:
        ax.set_title(plain_text(title), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any_div:
        handles.append(plt.Line2D([], [], marker="x", ls="", color="#444"))
        labels.append("diverged (top edge)")
    if any_below:
        handles.append(plt.Line2D([], [], marker="v", ls="", color="#444", mec="black", mew=0.5))
        labels.append(f"below {floor:.0e} (bottom edge)")
    ax.legend(handles, labels, fontsize=8, frameon=False)
    return fig


def plot_best_path(result: Any, function: Any = None, *, title: str | None = None, **contour_kw: Any) -> Any:
    """The path of a sweep's best configuration (first seed) on the level lines of the
    function (2-D problems), drawn by :func:`optimlab.viz.plot_contour` (``contour_kw`` go to it)."""
    best = result.best()
    t = best.trace
    if "params" not in t.series or np.shape(t.params)[1:] != (2,) or len(t.params) < 3:
        raise ValueError("the best run has no recorded 2-D path: sweep with record_params=True on a 2-D function")
    if function is None:
        spec = result.problem
        params = {k: v for k, v in dict(spec.get("params", {})).items() if k not in ("noise", "seed")}
        try:
            function = get_function(spec["name"], **params)
        except Exception:  # noqa: BLE001 - a formula or a callable: fall back to the name
            function = resolve_function(spec.get("name"))
    label = ", ".join(f"{k}={format_value(v, 3)}" for k, v in best.config.items())
    t_label = t.label
    t.label = f"best: {result.optimizer.get('name', '')} {label}"
    ttl = title or f"best configuration on {result.problem.get('name', '')} (final {best.value:.3g})"
    contour_kw.setdefault("settings", False)  # the label already says the configuration
    try:
        fig = plot_contour(function, [t], title=ttl, **contour_kw)
    finally:
        t.label = t_label
    return fig


def plot_performance_profile(profile: Any, *, ax: Any = None, title: str | None = None, tau_max: float | None = None
                             ) -> Any:
    """Dolan–Moré performance profiles ρ_s(τ), one step line per solver, τ on a log₂ axis.

    ``profile``: ``(taus, rho, solvers)`` as :func:`optimlab.bench.performance_profile`
    computes it from ``{problem: {solver: cost}}`` (viz draws; the benchmark's numbers
    are the benchmark's).
    """
    if not (isinstance(profile, tuple) and len(profile) == 3):
        raise TypeError("profile must be (taus, rho, solvers) from optimlab.bench.performance_profile(costs), "
                        f"got {type(profile).__name__}")
    taus, rho, names = profile
    taus = np.asarray(taus, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), constrained_layout=True)
    else:
        fig = ax.figure
    right = tau_max or max(2.0, float(taus.max()) * 1.5)
    styles = label_styles({name: None for name in names})
    for s, name in enumerate(names):
        xs = np.concatenate([taus, [right]])
        ys = np.concatenate([rho[s], [rho[s][-1]]])
        ax.step(xs, ys, where="post", lw=2, ls=styles[s]["ls"], color=styles[s]["color"], label=plain_text(name))
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, right)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("τ (cost within τ × the best optimizer's cost)")
    ax.set_ylabel("ρ(τ): fraction of problems solved")
    ax.set_title(plain_text(title or "performance profile (Dolan & Moré 2002)"), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return fig
